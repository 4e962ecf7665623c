"""`mtharness run ... metrics=[bleu,comet]` end to end through Apertium, then compare and gate on it.

Real parts throughout: Apertium translates, the managed environment's worker scores with a tiny
random-init checkpoint, and the rerun proves the segment cache (zero model calls).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sacrebleu.significance import estimate_ci

from tests.conftest import REPO, run_cli

pytestmark = [pytest.mark.comet, pytest.mark.apertium, pytest.mark.slow]


def _run(tmp: Path, name: str, overrides: list[str], cache: Path) -> dict:
    out = tmp / name
    proc = run_cli(
        ["run", "progress=false", f"hydra.run.dir={out}", f"results_dir={tmp}", *overrides],
        tmp,
        env={"MTHARNESS_CACHE_DIR": str(cache)},
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    payload = json.loads((out / "scores.json").read_text())
    payload["_rows"] = [json.loads(line) for line in (out / "segments.jsonl").read_text().splitlines()]
    payload["_dir"] = out
    return payload


@pytest.fixture(scope="module")
def comet_runs(apertium: None, tiny_comet: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Apertium and echo on 20 sample segments with BLEU + COMET; Apertium twice (the rerun)."""
    tmp = tmp_path_factory.mktemp("comet_runs")
    cache = tmp / "cache"
    common = [
        "limit=20",
        "metrics=[bleu,comet]",
        f"metrics.comet.model={tiny_comet}",
        "metrics.comet.batch_size=4",
    ]
    first = _run(tmp, "apertium", ["translator=apertium", *common], cache)
    rerun = _run(tmp, "apertium2", ["translator=apertium", *common], cache)
    echo = _run(tmp, "echo", ["translator=echo", *common], cache)
    return {"first": first, "rerun": rerun, "echo": echo, "tmp": tmp, "cache": cache}


def test_scores_json_and_segments_carry_comet(comet_runs: dict, tiny_comet: Path) -> None:
    first = comet_runs["first"]
    for direction in ("forward", "round_trip"):
        comet = first["scores"][direction]["COMET"]
        assert comet["higher_is_better"] is True and "BLEU" in first["scores"][direction]
        assert comet["model"] == str(tiny_comet) and comet["comet_version"] == "2.2.7"
        assert comet["batch_size"] == 4 and comet["device"] == "cpu" and len(comet["checkpoint_sha256"]) == 64
        assert comet["signature"].startswith(
            f"model:{tiny_comet}|ckpt_sha256:{comet['checkpoint_sha256'][:16]}"
        )
        segs = [row["scores"][direction]["COMET"] for row in first["_rows"]]
        assert len(segs) == 20 and abs(sum(segs) / len(segs) - comet["score"]) < 1e-9
    # 20 forward + 20 round-trip segments, two requests to one worker
    assert first["comet_cache"]["misses"] == 40 and first["comet_cache"]["model_calls"] == 2
    assert Path(first["comet_cache"]["file"]) == comet_runs["cache"] / "comet.sqlite"


def test_rerun_makes_zero_model_calls(comet_runs: dict) -> None:
    first, rerun = comet_runs["first"], comet_runs["rerun"]
    assert rerun["comet_cache"]["hits"] == 40
    assert rerun["comet_cache"]["misses"] == 0 and rerun["comet_cache"]["model_calls"] == 0
    assert rerun["scores"]["forward"]["COMET"] == first["scores"]["forward"]["COMET"]
    assert [r["scores"] for r in rerun["_rows"]] == [r["scores"] for r in first["_rows"]]


def test_compare_bootstraps_comet_segment_means(comet_runs: dict) -> None:
    tmp = comet_runs["tmp"]
    a, b = comet_runs["first"]["_dir"], comet_runs["echo"]["_dir"]
    out = tmp / "cmp.json"
    proc = run_cli(
        ["compare", str(a), str(b), "--metrics", "bleu", "comet", "--json", str(out), "--quiet"],
        tmp,
        env={"MTHARNESS_ENVS_DIR": str(tmp / "no-env")},  # stored scores: no environment needed
    )
    assert proc.returncode == 0, proc.stderr
    forward = json.loads(out.read_text())["directions"]["forward"]["metrics"]["COMET"]
    assert forward["higher_is_better"] is True and "|bs:1000|seed:12345" in forward["test_signature"]
    echo = forward["systems"]["echo"]
    assert 0 <= echo["p_value"] <= 1 and "ci" in echo
    # the CI is sacrebleu's estimate over bootstrap resamples of the segment mean
    segs = np.array([r["scores"]["forward"]["COMET"] for r in comet_runs["echo"]["_rows"]])
    idx = np.random.default_rng(12345).choice(len(segs), size=(1000, len(segs)), replace=True)
    mean, half = estimate_ci(segs[idx].mean(axis=1))
    assert abs(echo["ci"]["mean"] - mean) < 1e-4 and abs(echo["ci"]["half_width"] - half) < 1e-4


def test_gate_rules_accept_comet(comet_runs: dict) -> None:
    tmp = comet_runs["tmp"]
    base = tmp / "baseline.json"
    save = run_cli(["baseline", "save", str(comet_runs["first"]["_dir"]), str(base)], tmp)
    assert save.returncode == 0, save.stderr
    stored = json.loads(base.read_text())
    assert len(stored["segment_scores"]["forward"]["COMET"]) == 20
    verdict = tmp / "gate.json"
    env = {"MTHARNESS_ENVS_DIR": str(tmp / "no-env")}  # the gate re-runs no model
    same_json = tmp / "same.json"
    rerun_dir = str(comet_runs["rerun"]["_dir"])
    same = run_cli(
        [
            "gate",
            "--baseline",
            str(base),
            "--current",
            rerun_dir,
            "--metrics",
            "comet",
            "--json",
            str(same_json),
        ],
        tmp,
        env=env,
    )
    assert same.returncode == 0, same.stdout + same.stderr
    rules = {r["target"]: r for r in json.loads(same_json.read_text())["rules"]}
    for target in ("forward.COMET", "round_trip.COMET"):  # --metrics comet: a significant drop fails
        assert rules[target]["significance"] is True and rules[target]["status"] == "pass"
        assert rules[target]["drop"] == 0  # same segment scores (from the cache): nothing to test
    # the higher-scoring run as baseline, the other as current: a real drop, so the paired test runs
    hi, lo = sorted(
        (comet_runs["first"], comet_runs["echo"]), key=lambda r: -r["scores"]["forward"]["COMET"]["score"]
    )
    hi_base = tmp / "hi.json"
    assert run_cli(["baseline", "save", str(hi["_dir"]), str(hi_base)], tmp).returncode == 0
    proc = run_cli(
        [
            "gate",
            "--baseline",
            str(hi_base),
            "--current",
            str(lo["_dir"]),
            "--max-drop",
            "COMET=0",
            "--min-score",
            "round_trip.COMET=-5",
            "--require-significance",
            "--json",
            str(verdict),
        ],
        tmp,
        env=env,
    )
    assert proc.returncode in (0, 1), proc.stderr
    rules = {r["target"]: r for r in json.loads(verdict.read_text())["rules"]}
    forward = rules["forward.COMET"]
    assert forward["kind"] == "max_drop" and forward["significance"] is True and forward["drop"] > 0
    # the paired bootstrap over the stored segment scores, as compare computes it
    from mtharness.scoring.significance import mean_stats, paired_test

    segs = [[r["scores"]["forward"]["COMET"] for r in run["_rows"]] for run in (hi, lo)]
    sig = hi["scores"]["forward"]["COMET"]["signature"]
    want = paired_test(mean_stats("b", "COMET", segs[0], sig), mean_stats("c", "COMET", segs[1], sig))
    assert forward["p_value"] == pytest.approx(want.p_value)
    assert forward["status"] == ("fail" if want.p_value < 0.05 else "pass")
    assert proc.returncode == (1 if want.p_value < 0.05 else 0)
    assert rules["round_trip.COMET"]["kind"] == "min_score" and rules["round_trip.COMET"]["status"] == "pass"


def test_cometkiwi_scores_a_dataset_without_references(
    apertium: None, tiny_cometkiwi: Path, tmp_path: Path
) -> None:
    src = tmp_path / "src.en"
    src.write_text(
        "\n".join((REPO / "src/mtharness/data/sample/sample.en").read_text().splitlines()[:8]) + "\n"
    )
    payload = _run(
        tmp_path,
        "kiwi",
        [
            "translator=apertium",
            "dataset=files",
            f"dataset.src={src}",
            "dataset.src_lang=en",
            "dataset.tgt_lang=es",
            "metrics=[bleu,cometkiwi]",
            f"metrics.cometkiwi.model={tiny_cometkiwi}",
        ],
        tmp_path / "cache",
    )
    forward = payload["scores"]["forward"]
    assert list(forward) == ["CometKiwi"]  # no references: no BLEU, but a forward quality number
    assert forward["CometKiwi"]["reference_free"] is True and "nrefs:0" in forward["CometKiwi"]["signature"]
    assert "CometKiwi" in payload["scores"]["round_trip"] and "BLEU" in payload["scores"]["round_trip"]
    assert all(isinstance(r["scores"]["forward"]["CometKiwi"], float) for r in payload["_rows"])
