"""scripts/bench.py --quick runs every comparison and writes a complete, sane report (no timing goals)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, apertium_has


@pytest.mark.slow
@pytest.mark.comet  # the comet section scores through the managed environment
@pytest.mark.ct2  # the ct2_vs_transformers section
def test_bench_quick_writes_every_comparison(wmt23: Path, comet_env: Path, tmp_path: Path) -> None:
    scratch = tmp_path / "tmp"  # the bench's temp folder: its sections leave nothing behind in it
    scratch.mkdir()
    proc = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "bench.py"), "--quick", "--out", str(tmp_path / "out")],
        cwd=REPO,
        env={**os.environ, "TMPDIR": str(scratch)},
        capture_output=True,
        text=True,
        timeout=1200,  # the llm section starts a transformers serve process (~10-20 s here)
        check=False,
    )
    assert proc.returncode == (0 if apertium_has("eng-spa") else 1), proc.stderr[-2000:]
    left = sorted(p.name for p in scratch.iterdir() if p.name.startswith(("bench-", "tmp")))
    assert not left, f"the bench left scratch files behind: {left}"
    (report_file,) = (tmp_path / "out").glob("*.json")
    report = json.loads(report_file.read_text())
    comps = report["comparisons"]
    sections = ("harness_overhead", "ct2_vs_transformers", "scoring", "significance", "rerun", "startup")
    compare_sections = {
        "compare_scoring",
        "compare_paired",
        "compare_all_pairs",
        "compare_100k",
        "cost_curve",
    }
    added = {"apertium_pipe", "judge", "comet_systems", "metricx_reference"}  # issues 22 and 28
    assert set(comps) == {*sections, "apertium", "llm", "comet", *compare_sections, "serve_index", *added}
    curve = comps["cost_curve"]["rows"]
    assert [r["segments"] for r in curve] == [100, 300]
    for row in curve:  # both sides measured at every quick size, with the load beside them
        for side in ("ours", "theirs"):
            assert row["compare"][side]["peak_mb"] > 0 < row["run_files"][side]["wall_s"]
        assert row["compare"]["loads"]
    for name in compare_sections - {"cost_curve"}:
        assert comps[name]["peak_mb"]["ours"] > 0 < comps[name]["ours_cpu_s"], name
    serve = comps["serve_index"]  # the run index of `mtharness serve` (scripts/bench_serve.py)
    assert serve["indexed"] == serve["runs"] + 1 and serve["refresh_100_changed_updated"] == 100
    assert (
        serve["segments_index_peak_heap_mb"] > 0 and serve["query_total"]["newest_first"] == serve["runs"] + 1
    )
    llm = comps.pop("llm")  # skipped (with the reason) where the serve extra or the tiny LM is missing
    if "skipped" not in llm:
        assert llm["ratio"] > 0 and llm["concurrency_8_vs_1"] > 0 and llm["n_requests"] > 0
        assert llm["same_answers_raw_vs_cleaned"] > 0
    judge = comps.pop("judge")  # skipped like llm; every request timed on both sides otherwise
    if "skipped" not in judge:
        assert judge["ratio"] > 0 and judge["n_requests"] > 0 and len(judge["ours_times"]) > 0
    reference = comps.pop("metricx_reference")  # skipped without google-research's code in its own venv
    if "skipped" not in reference:
        assert reference["max_abs_diff"] < 1e-4 and reference["ratio"] > 0
    assert comps["comet_systems"]["max_abs_diff"] < 1e-5  # encoded once, equal to predict() per system
    if not apertium_has("eng-spa"):  # the section says so and the bench exits 1; the rest must be sound
        assert "error" in comps.pop("apertium")
        assert "error" in comps.pop("apertium_pipe")
    else:
        assert comps["apertium"]["reversed_order_differs_isolated"] == 0
        assert comps["apertium_pipe"]["differs_from_reference_alone"] == 0  # isolation kept
        assert (
            comps["apertium"]["sentences_per_cpu_s_isolated"]
            > 0
            < comps["apertium"]["sentences_per_cpu_s_blocks"]
        )
    for name, r in comps.items():
        assert "error" not in r, name
        assert r["ours_s"] > 0 and r["what"] and isinstance(r["met"], bool), name
        assert r["ratio"] == r["ratio"], name  # not NaN
    assert comps["scoring"]["identical_scores"] is True
    assert comps["significance"]["p_values_within_0.01"] is True
    assert comps["significance"]["n_p_values"] == 9  # 3 systems x BLEU, chrF, TER
    assert comps["rerun"]["model_calls_on_rerun"] == 0
    assert all(c["hits"] > 0 for c in comps["rerun"]["cache"].values())
    assert comps["rerun"]["torch_imported_on_rerun"] is False
    assert comps["rerun"]["py3langid_imported_on_rerun"] is False
    assert comps["rerun"]["langid_cache"]["misses"] == 0
    assert comps["comet"]["max_abs_diff"] < 1e-6 and comps["comet"]["rerun_cache"]["model_calls"] == 0
    assert comps["startup"]["torch_imported_by_help"] is False
    assert comps["startup"]["heavy_modules_after_file_scoring"] == "-"
    assert comps["harness_overhead"]["identical_outputs"].split("/")[0] != "0"
    ct2 = comps["ct2_vs_transformers"]
    assert ct2["output_tokens"]["ct2"] > 0
    settings = ct2["by_setting"].values()
    assert {s["decoding"] for s in settings} == {"greedy", "beam4"}
    assert {s["threads"] for s in settings} == {
        1,
        report["machine"]["usable_cores"],
    }  # one thread and every core
    assert all(s["output_tokens"]["ct2"] == s["output_tokens"]["transformers"] for s in settings)
    assert comps["scoring"]["peak_rss_mb"] > 0
    m = report["machine"]
    assert m["cores"] >= 1 and m["versions"]["sacrebleu"] and m["cpu_model"]
    assert (report_file.parent / report_file.name.replace(".json", ".md")).read_text().count("| ") > 6
