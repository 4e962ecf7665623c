"""`mtharness gate` / `mtharness baseline` as CI runs them: exit 0 pass, 1 regression, 2 bad input."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from mtharness.data.loaders import load_sample
from tests.conftest import REPO, compose, run_cli
from tests.helpers.gate import corrupt_every, read_segments, wmt_run, write_outputs_run


@pytest.fixture(scope="module")
def apertium_runs(apertium: None, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The CI experiment run twice through real Apertium, and a baseline saved from the first run."""
    root = tmp_path_factory.mktemp("apertium_gate")
    for name in ("first", "rerun"):
        proc = run_cli(["run", "experiment=ci_sample", f"hydra.run.dir={root / name}"], cwd=root)
        assert proc.returncode == 0, proc.stderr
    proc = run_cli(["baseline", "save", str(root / "first"), str(root / "base.json")], cwd=root)
    assert proc.returncode == 0, proc.stderr
    return {"first": root / "first", "rerun": root / "rerun", "base": root / "base.json", "root": root}


def gate(root: Path, base: Path, current: Path, *extra: str):  # type: ignore[no-untyped-def]
    return run_cli(["gate", "--baseline", str(base), "--current", str(current), *extra], cwd=root)


def test_same_system_rerun_passes(apertium_runs: dict[str, Path]) -> None:
    root = apertium_runs["root"]
    proc = gate(root, apertium_runs["base"], apertium_runs["rerun"], "--json", str(root / "same.json"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    verdict = json.loads((root / "same.json").read_text())
    # the default rules: significant drops of BLEU and chrF2 both ways, copy/off-target rate rises
    targets = {r["target"] for r in verdict["rules"]}
    assert {"forward.BLEU", "round_trip.BLEU", "forward.chrF2", "round_trip.chrF2", "copy_rate"} <= targets
    assert "gate PASSED" in proc.stdout


def test_ten_percent_corrupted_segments_fail(apertium_runs: dict[str, Path]) -> None:
    root = apertium_runs["root"]
    rows = read_segments(apertium_runs["rerun"])
    degraded = write_outputs_run(
        root / "degraded",
        load_sample(),
        corrupt_every([r["forward"] for r in rows]),
        corrupt_every([r["round_trip"] for r in rows]),
        "apertium-corrupted",
        metrics=("bleu", "chrf", "chrfpp", "ter"),
    )
    junit, md = root / "gate.xml", root / "gate.md"
    proc = gate(root, apertium_runs["base"], degraded, "--junit", str(junit), "--markdown", str(md))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    failures = [
        case.get("name")
        for case in ET.parse(junit).getroot().iter("testcase")
        if case.find("failure") is not None
    ]
    assert "round_trip.chrF2 max_drop 0 if significant" in failures
    assert "**round_trip.chrF2 max_drop 0 if significant**" in md.read_text()
    assert "gate FAILED" in proc.stdout


def test_worse_wmt23_system_fails(wmt23: Path, tmp_path: Path) -> None:
    better = wmt_run(wmt23, "ONLINE-A", tmp_path / "online-a")
    worse = wmt_run(wmt23, "AIRC", tmp_path / "airc")
    base = tmp_path / "online-a.json"
    assert run_cli(["baseline", "save", str(better), str(base)], cwd=tmp_path).returncode == 0
    junit, md = tmp_path / "g.xml", tmp_path / "g.md"
    proc = gate(
        tmp_path, base, worse, "--max-drop", "BLEU=1.0", "--max-drop", "chrF2=0.5",
        "--require-significance", "--junit", str(junit), "--markdown", str(md),
    )  # fmt: skip
    assert proc.returncode == 1, proc.stdout + proc.stderr
    xml = junit.read_text()
    assert '<failure message="forward.BLEU max_drop 1 if significant: drop' in xml
    assert "**forward.chrF2 max_drop 0.5 if significant**" in md.read_text()
    # the same system against itself passes
    assert gate(tmp_path, base, better, "--max-drop", "BLEU=0").returncode == 0


def test_noise_level_difference_passes_only_with_significance(wmt23: Path, tmp_path: Path) -> None:
    """ONLINE-A and ONLINE-B (WMT23 en-de) differ by noise on 120 segments: chrF2 69.86 vs 69.83."""
    base_run = wmt_run(wmt23, "ONLINE-A", tmp_path / "a")
    other = wmt_run(wmt23, "ONLINE-B", tmp_path / "b")
    base = tmp_path / "a.json"
    assert run_cli(["baseline", "save", str(base_run), str(base)], cwd=tmp_path).returncode == 0
    strict = gate(tmp_path, base, other, "--max-drop", "chrF2=0")
    assert strict.returncode == 1, strict.stdout + strict.stderr
    proc = gate(
        tmp_path,
        base,
        other,
        "--max-drop",
        "chrF2=0",
        "--require-significance",
        "--json",
        str(tmp_path / "v.json"),
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rules = json.loads((tmp_path / "v.json").read_text())["rules"]
    assert [r["target"] for r in rules] == ["forward.chrF2", "copy_rate", "off_target_rate"]  # rate guards
    rule = rules[0]
    assert rule["drop"] > 0 and rule["p_value"] > 0.05 and "not significant" in rule["message"]


def test_incomparable_and_malformed_inputs_exit_2(tmp_path: Path) -> None:
    ds = load_sample()
    refs, srcs = ds.reference_streams[0], ds.sources
    full = write_outputs_run(tmp_path / "full", ds, refs, srcs, "x")
    part = write_outputs_run(tmp_path / "part", ds.subset(50), refs[:50], srcs[:50], "x")
    base = tmp_path / "base.json"
    assert run_cli(["baseline", "save", str(full), str(base)], cwd=tmp_path).returncode == 0
    proc = gate(tmp_path, base, part, "--junit", str(tmp_path / "e.xml"))
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "incomparable runs: dataset content hash differs" in proc.stderr
    assert (
        '<error message="incomparable runs: dataset content hash differs' in (tmp_path / "e.xml").read_text()
    )

    broken = tmp_path / "broken.json"
    broken.write_text(base.read_text()[:-40])
    proc = gate(tmp_path, broken, full)
    assert (
        proc.returncode == 2 and f"baseline {broken}, line" in proc.stderr and "not valid JSON" in proc.stderr
    )
    for args, message in [
        (["--max-drop", "chrF2"], "expected NAME=NUMBER"),
        (["--max-drop", "METEOR=1"], "the baseline has no score 'METEOR'"),
        (["--config", "nope"], "choose from ['default', 'strict']"),
    ]:
        proc = gate(tmp_path, base, full, *args)
        assert proc.returncode == 2 and message in proc.stderr, proc.stderr
    assert gate(tmp_path, base, tmp_path / "missing").returncode == 2
    assert gate(tmp_path, base, full, "--config", "strict").returncode == 0


def test_baseline_save_refresh_show(tmp_path: Path) -> None:
    ds = load_sample().subset(30)
    run = write_outputs_run(tmp_path / "r", ds, ds.reference_streams[0], ds.sources, "x")
    base = tmp_path / "b.json"
    assert run_cli(["baseline", "save", str(run), str(base)], cwd=tmp_path).returncode == 0
    again = run_cli(["baseline", "save", str(run), str(base)], cwd=tmp_path)
    assert again.returncode == 2 and "mtharness baseline refresh" in again.stderr
    assert run_cli(["baseline", "refresh", str(run), str(base)], cwd=tmp_path).returncode == 0
    other = write_outputs_run(
        tmp_path / "o", ds.subset(20), ds.reference_streams[0][:20], ds.sources[:20], "x"
    )
    refused = run_cli(["baseline", "refresh", str(other), str(base)], cwd=tmp_path)
    assert refused.returncode == 2 and "dataset content hash differs" in refused.stderr
    shown = run_cli(["baseline", "show", str(base)], cwd=tmp_path)
    assert shown.returncode == 0 and "round_trip" in shown.stdout and "30 segments" in shown.stdout


def test_committed_baseline_matches_the_ci_experiment() -> None:
    """baselines/sample_apertium.json was made from `mtharness run experiment=ci_sample`."""
    from mtharness.cli.run import build_dataset
    from mtharness.gate.baseline import load_baseline

    base = load_baseline(REPO / "baselines" / "sample_apertium.json")
    cfg = compose(["experiment=ci_sample"])
    assert base.dataset.content_hash == build_dataset(cfg).content_hash()
    assert set(base.scores) == {"forward", "round_trip"} and base.translator["name"] == "apertium"
    assert (REPO / "baselines" / "sample_apertium.json").stat().st_size < 100_000
