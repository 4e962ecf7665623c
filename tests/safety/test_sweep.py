"""Issue 26 (11): a basic-launcher sweep runs every job; the failures are listed at the end, exit 2."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import run_cli


def test_every_job_runs_and_failures_are_listed(tmp_path: Path) -> None:
    args = ["run", "-m", "translator=echo", "progress=false", "validity.langid.enabled=false"]
    done = run_cli([*args, "round_trip=false", "limit=3,abc,2,0", "hydra.sweep.dir=sweep"], tmp_path)
    assert done.returncode == 2, done.stderr
    finished = sorted(p.parent.name for p in (tmp_path / "sweep").glob("*/scores.json"))
    assert finished == ["0_echo_sample", "2_echo_sample"]  # the jobs after a failure ran too
    assert "Traceback" not in done.stderr
    tail = done.stderr.strip().splitlines()[-3:]
    assert tail[0] == "mtharness run: 2 of 4 sweep jobs failed:"
    assert tail[1].startswith("  job 1 (") and "limit=abc" in tail[1] and "limit='abc'" in tail[1]
    assert tail[2].startswith("  job 3 (") and "limit=0" in tail[2]
