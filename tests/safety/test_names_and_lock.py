"""Issue 26 (3/9, 10): names in paths cannot move a run out of results_dir; one run per folder at a time."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mtharness.cli.pathnames import safe_name
from tests.conftest import REPO, run_cli

QUIET = [
    "translator=echo",
    "limit=3",
    "progress=false",
    "validity.langid.enabled=false",
    "cache.enabled=false",
]


@pytest.mark.parametrize("name", ["../../../x", "a/b", "a\\b", "..", "tab\there", "nl\nx", ""])
def test_safe_name_is_one_harmless_component(name: str) -> None:
    got = safe_name(name)
    assert got and "/" not in got and "\\" not in got and ".." not in got
    assert all(ord(c) >= 32 for c in got)


def test_crafted_translator_name_stays_under_results(tmp_path: Path) -> None:
    done = run_cli(["run", *QUIET, "translator.name='../../../x'", "dataset.name='a/../../b'"], tmp_path)
    assert done.returncode == 0, done.stderr
    made = [p for p in tmp_path.rglob("scores.json")]
    assert len(made) == 1
    assert (tmp_path / "results" / "runs") in made[0].parents
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results"]


def test_explicit_run_dir_may_be_anywhere(tmp_path: Path) -> None:
    done = run_cli(["run", *QUIET, f"hydra.run.dir={tmp_path / 'elsewhere'}", "results_dir=r"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "elsewhere" / "scores.json").is_file()


HOLD = (
    "import sys; from mtharness.run.lock import lock_run_dir; lock_run_dir(sys.argv[1]); "
    "print('locked', flush=True); sys.stdin.read()"
)


def test_second_run_into_a_locked_folder_exits_2_naming_the_holder(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(run_dir)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={"PYTHONPATH": str(REPO / "src"), "PATH": "/usr/bin:/bin"},
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        done = run_cli(["run", *QUIET, f"hydra.run.dir={run_dir}"], tmp_path)
        assert done.returncode == 2
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and f"pid {holder.pid} on " in lines[0] and "in use by another run" in lines[0]
        assert sorted(p.name for p in run_dir.iterdir()) == [".mtharness.lock"]  # nothing else written
    finally:
        holder.communicate("", timeout=60)
    # the holder is gone: the kernel dropped its lock, the folder is free again
    done = run_cli(["run", *QUIET, f"hydra.run.dir={run_dir}"], tmp_path)
    assert done.returncode == 0, done.stderr
