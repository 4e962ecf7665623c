"""A multirun ends in one table across its jobs (terminal, sweep.md, sweep.json), and compare,
leaderboard and rtt-correlation take the sweep folder (or its shell glob) as the jobs' run folders."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mtharness.compare.sweep import differing_overrides, expand_runs, job_folders
from tests.conftest import run_cli
from tests.track.helpers import scores

LABELS = [
    "translator=echo translator.name=a",
    "translator=echo translator.name=b",
    "translator=apertium translator.name=a",
    "translator=apertium translator.name=b",
]


@pytest.fixture(scope="module")
def sweep(apertium: None, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    root = tmp_path_factory.mktemp("sweep")
    sweep_dir = root / "sweep"
    args = ["run", "-m", "translator=echo,apertium", "translator.name=a,b", "limit=8", "progress=false"]
    proc = run_cli([*args, f"results_dir={root / 'results'}", f"hydra.sweep.dir={sweep_dir}"], cwd=root)
    assert proc.returncode == 0, proc.stderr
    return sweep_dir, proc.stdout


@pytest.mark.slow  # a four-job sweep
def test_the_sweep_ends_in_one_table(sweep: tuple[Path, str]) -> None:
    sweep_dir, stdout = sweep
    table = json.loads((sweep_dir / "sweep.json").read_text())
    assert [job["label"] for job in table["jobs"]] == LABELS  # only the overrides that differ
    assert table["columns"][:2] == ["forward.BLEU", "forward.chrF2"]
    for job in table["jobs"]:
        doc = scores(Path(job["run_dir"]))
        assert job["scores"] == {
            d: {m: v["score"] for m, v in per.items()} for d, per in doc["scores"].items()
        }
        assert job["copy_rate"] == doc["copy_rate"]
    assert [j["flags"] for j in table["jobs"]][:1] == [["copy_rate", "off_target_rate"]]  # echo copies
    tail = stdout[stdout.index(f"Sweep {sweep_dir}: 4 jobs") :].splitlines()
    assert "fwd BLEU" in tail[1] and "copy rate" in tail[1]
    assert [line.split("  ")[0].strip() for line in tail[2:6]] == LABELS
    md = (sweep_dir / "sweep.md").read_text()
    assert all(f"| {label} |" in md for label in LABELS)


@pytest.mark.slow  # the sweep, then three commands over it
def test_compare_leaderboard_and_rtt_take_the_sweep_folder(sweep: tuple[Path, str]) -> None:
    sweep_dir, _ = sweep
    cwd = sweep_dir.parent
    jobs = expand_runs([sweep_dir])
    assert len(jobs) == 4 and all((Path(j) / "scores.json").is_file() for j in jobs)
    compared = run_cli(["compare", str(sweep_dir), "--json", str(cwd / "cmp.json")], cwd=cwd)
    assert compared.returncode == 0, compared.stderr
    assert json.loads((cwd / "cmp.json").read_text())["inputs"]["runs"] == jobs
    globbed = sorted(str(p) for p in sweep_dir.iterdir() if not p.name.startswith("."))  # SWEEP/*
    assert run_cli(["compare", *globbed, "--quiet"], cwd=cwd).returncode == 0
    board = run_cli(["leaderboard", str(sweep_dir), "--ci-n", "0"], cwd=cwd)
    assert board.returncode == 0, board.stderr
    assert "4 runs, 4 rows" in board.stderr + board.stdout
    rtt = run_cli(["rtt-correlation", str(sweep_dir), "--json", str(cwd / "rtt.json")], cwd=cwd)
    assert rtt.returncode == 0, rtt.stderr
    assert len(json.loads((cwd / "rtt.json").read_text())["systems"]) == 4


def test_labels_are_the_overrides_that_differ(tmp_path: Path) -> None:
    for i, overrides in enumerate([["limit=4", "translator=echo"], ["limit=6", "translator=echo"]]):
        hydra = tmp_path / f"{i}_job" / ".hydra"
        hydra.mkdir(parents=True)
        (hydra / "overrides.yaml").write_text("".join(f"- {o}\n" for o in overrides))
    jobs = job_folders(tmp_path)
    assert [j.name for j in jobs] == ["0_job", "1_job"]
    assert list(differing_overrides(jobs).values()) == [["limit=4"], ["limit=6"]]
