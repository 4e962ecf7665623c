"""The leaderboard keys runs by full system identity: two settings of one translator are two rows.

The issue's repro: a second apertium run with other settings replaced the first ("3 runs", 2 rows).
Here: one translator name with two output files (hermetic), one with two metric settings, and Apertium
itself with mark_unknown=true and false; plus the CIs, the rate columns and what `--all` adds.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from mtharness.cli import main as cli_main
from mtharness.data.loaders import SAMPLE_DIR, load_sample
from mtharness.run.evaluate import evaluate
from mtharness.run.writer import write_run
from mtharness.scoring.metrics import parse_specs
from mtharness.translators.files import FilesTranslator
from tests.conftest import run_cli


def _lines(path: Path, lines: list[str]) -> str:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four runs of one translator name "sys": output A (twice: a rerun), output B (copies 10% of its
    input), and output A scored with BLEU tokenize=intl."""
    tmp = tmp_path_factory.mktemp("board")
    sources = load_sample().sources
    spanish = (SAMPLE_DIR / "sample.es").read_text(encoding="utf-8").splitlines()
    back = [" ".join(w for j, w in enumerate(s.split()) if j % 4 != 3) for s in sources]
    copied = [s if i % 10 == 0 else t for i, (t, s) in enumerate(zip(spanish, sources, strict=True))]
    copied_back = [s if i % 10 == 0 else t for i, (t, s) in enumerate(zip(back, sources, strict=True))]
    outputs = {"a": (spanish, back), "b": (copied, copied_back)}
    files = {
        k: (_lines(tmp / f"{k}.es", f), _lines(tmp / f"{k}.back.en", b)) for k, (f, b) in outputs.items()
    }
    runs = [("a", "bleu", "run1"), ("a", "bleu", "run2"), ("b", "bleu", "run3"), ("a", "intl", "run4")]
    for key, bleu, folder in runs:
        forward, back_file = files[key]
        translator = FilesTranslator(
            "sys", forward=forward, back=back_file, source=str(SAMPLE_DIR / "sample.en")
        )
        metrics: dict[str, Any] = {"chrf": {"metric": "chrf"}, "bleu": {"metric": "bleu"}}
        if bleu == "intl":
            metrics["bleu"]["tokenize"] = "intl"
        result = evaluate(load_sample(), translator, parse_specs(metrics), progress=False, validity={})
        result.config = {"metrics": metrics, "seed": 12345}
        write_run(result, tmp / "results" / folder)
    return tmp / "results"


def _board(results: Path, out: Path, *flags: str) -> tuple[dict[str, Any], str, list[dict[str, str]]]:
    out.mkdir(exist_ok=True)
    assert (
        cli_main(["leaderboard", str(results), "--out", str(out), "--json", str(out / "b.json"), *flags]) == 0
    )
    with (out / "leaderboard.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    return (
        json.loads((out / "b.json").read_text()),
        (out / "leaderboard.md").read_text(encoding="utf-8"),
        rows,
    )


def test_one_row_per_system_identity(results: Path, tmp_path: Path) -> None:
    doc, md, rows = _board(results, tmp_path / "default", "--ci-n", "200")
    (group,) = doc["groups"]
    runs = group["runs"]
    assert len(runs) == 3 and group["hidden_runs"] == 1  # run1 and run2 are one system: the newer shown
    assert {r["name"] for r in runs} == {"sys"} and len({r["identity"] for r in runs}) == 3
    assert "run1" not in {Path(r["run_dir"]).name for r in runs}
    labels = [r["translator"] for r in runs]
    assert len(set(labels)) == 3  # each label names what sets its run apart from the others
    by_folder = {Path(r["run_dir"]).name: r for r in runs}
    assert by_folder["run4"]["settings"] == {"BLEU tok": "intl"}
    assert by_folder["run4"]["translator"] == "sys [BLEU tok=intl]"
    copier = by_folder["run3"]
    assert copier["translator"].startswith("sys [back.path=b.back.en, back.sha256=")
    assert copier["settings"]["forward.path"].endswith("b.es") and copier["translator"].endswith(", +1 more]")
    assert by_folder["run2"]["translator"] == "sys" and by_folder["run2"]["settings"] == {}
    assert "1 older run(s) of these systems not shown (`--all` lists them)" in md
    for label in labels:
        assert f"| {label} |" in md
    assert [r["translator"] for r in rows] == labels and all(len(r["identity"]) == 64 for r in rows)
    every, _, _ = _board(results, tmp_path / "all", "--all", "--ci-n", "0")
    assert len(every["groups"][0]["runs"]) == 4 and every["groups"][0]["hidden_runs"] == 0


def test_rates_flagged_and_round_trip_lead_named(results: Path, tmp_path: Path) -> None:
    doc, md, rows = _board(results, tmp_path, "--ci-n", "0")
    copier = next(r for r in doc["groups"][0]["runs"] if Path(r["run_dir"]).name == "run3")
    assert copier["copy_rate"] == pytest.approx(0.1) and copier["flags"][0] == "copy_rate"
    assert copier["warn_rates"] == {"copy_rate": 0.05, "off_target_rate": 0.05}
    assert "| 0.100 ⚠ |" in md and "off-target" in md
    lead = f"{copier['translator']}'s round-trip lead may come from copying its input (copy rate 0.10)"
    assert any(lead in w for w in doc["groups"][0]["warnings"]) and lead in md
    assert {"copy_rate", "off_target_rate", "flags", "forward_chrF2_ci"} <= set(rows[0])
    quiet, md, _ = _board(
        results, tmp_path / "relaxed", "--ci-n", "0", "--copy-warn", "0.5", "--off-target-warn", "0.5"
    )
    assert not quiet["groups"][0]["warnings"] and "⚠ |" not in md


def test_cis_are_the_reports(results: Path, tmp_path: Path) -> None:
    """The leaderboard's CI of a run is the one `mtharness report` computes for it (same seed and n)."""
    doc, md, rows = _board(results, tmp_path, "--ci-n", "200")
    run = next(r for r in doc["groups"][0]["runs"] if Path(r["run_dir"]).name == "run3")
    report = tmp_path / "report.json"
    argv = [
        "report",
        run["run_dir"],
        "--out",
        str(tmp_path / "r.html"),
        "--ci-n",
        "200",
        "--json",
        str(report),
    ]
    assert cli_main(argv) == 0
    directions = json.loads(report.read_text())["directions"]
    for direction in ("forward", "round_trip"):
        for metric in ("chrF2", "BLEU"):
            expected = directions[direction]["metrics"][metric]["systems"]["sys"]["ci"]
            assert run["ci"][direction][metric] == expected
    assert "±" in md and rows[0]["forward_chrF2_ci"]
    cache = tmp_path / "leaderboard.ci.json"  # a rerun takes the CIs of runs already seen from here
    assert len(json.loads(cache.read_text())["runs"]) == 3
    again, _, _ = _board(results, tmp_path, "--ci-n", "200")
    assert again["groups"] == doc["groups"]
    cache.write_text('{"version": 1, "runs": {"x": 1}}')  # an edited or broken cache is rebuilt
    rebuilt, _, _ = _board(results, tmp_path, "--ci-n", "200")
    assert rebuilt["groups"] == doc["groups"] and len(json.loads(cache.read_text())["runs"]) == 4
    bare, md, _ = _board(results, tmp_path / "noci", "--ci-n", "0")
    table = [line for line in md.splitlines() if line.startswith("| sys")]
    assert len(table) == 3 and not any("±" in line for line in table)
    assert all(r["ci"] == {} for r in bare["groups"][0]["runs"]) and "No confidence intervals" in md


def test_bad_flags_are_one_line(results: Path, tmp_path: Path) -> None:
    proc = run_cli(["leaderboard", str(results), "--copy-warn", "2"], cwd=tmp_path)
    assert proc.returncode == 2 and "is not a rate between 0 and 1" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.apertium
def test_two_apertium_settings_both_shown(apertium: None, tmp_path: Path) -> None:
    """The issue's repro: apertium with mark_unknown=true and false, then one more false run: 3 runs,
    2 systems, 2 rows told apart by the setting; --all lists all 3."""
    results = tmp_path / "results"
    common = ["limit=10", f"results_dir={results}", "progress=false"]
    proc = run_cli(
        ["run", "-m", "translator=apertium", "translator.mark_unknown=true,false", *common], cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    proc = run_cli(["run", "translator=apertium", "translator.mark_unknown=false", *common], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    proc = run_cli(["leaderboard", str(results), "--ci-n", "100"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "3 runs, 2 rows" in proc.stdout and "1 older run(s)" in proc.stdout
    md = (results / "leaderboard.md").read_text(encoding="utf-8")
    assert "| apertium [mark_unknown=true] |" in md and "| apertium [mark_unknown=false] |" in md
    proc = run_cli(["leaderboard", str(results), "--all", "--ci-n", "0"], cwd=tmp_path)
    assert proc.returncode == 0 and "3 runs, 3 rows" in proc.stdout
