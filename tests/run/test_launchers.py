"""Sweeps on Hydra launchers: joblib (local parallel), submitit_local, and the SLURM config."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Any

import pytest

from mtharness.core import MtharnessError
from mtharness.run.threads import resolve_threads
from tests.conftest import run_cli


def _scores(root: Path) -> dict[str, dict[str, Any]]:
    return {
        (d := json.loads(p.read_text()))["translator"]["name"]: d | {"_dir": p.parent}
        for p in root.rglob("scores.json")
    }


def test_joblib_two_workers_two_translators(apertium: None, tmp_path: Path) -> None:
    import joblib

    results = tmp_path / "results"
    proc = run_cli(
        [
            "run",
            "-m",
            "hydra/launcher=joblib",
            "hydra.launcher.n_jobs=2",
            "translator=echo,apertium",
            "limit=12",
            "progress=false",
            f"results_dir={results}",
        ],
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Joblib.Parallel(n_jobs=2" in proc.stdout
    runs = _scores(results / "multirun")
    assert set(runs) == {"echo", "apertium"}
    assert runs["echo"]["_dir"] != runs["apertium"]["_dir"]
    for payload in runs.values():
        assert payload["n_segments"] == 12 and payload["scores"]["round_trip"]
        # loky gives each of the 2 workers cores // 2 threads: never more threads than cores
        assert 1 <= int(payload["threads"]["OMP_NUM_THREADS"]) <= max(1, joblib.cpu_count() // 2)
    assert runs["apertium"]["copy_rate"] < 0.5 < runs["echo"]["copy_rate"]
    board = run_cli(["leaderboard", str(results)], cwd=tmp_path)
    assert board.returncode == 0, board.stderr
    with (results / "leaderboard.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert sorted(r["translator"] for r in rows) == ["apertium", "echo"]
    for row in rows:  # each job's own numbers reach the leaderboard
        bleu = runs[row["translator"]]["scores"]["round_trip"]["BLEU"]["score"]
        assert abs(float(row["round_trip_BLEU"]) - bleu) < 0.01
    assert "apertium" in (results / "leaderboard.md").read_text()


def test_submitit_local_runs_one_job(tmp_path: Path) -> None:
    results = tmp_path / "results"
    proc = run_cli(
        [
            "run",
            "-m",
            "hydra/launcher=submitit_local",
            "hydra.launcher.timeout_min=5",
            "translator=echo",
            "limit=5",
            "progress=false",
            f"results_dir={results}",
        ],
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    runs = _scores(results / "multirun")
    assert set(runs) == {"echo"} and runs["echo"]["n_segments"] == 5
    # the job ran in submitit's own process, logged under the sweep's .submitit folder
    assert list((results / "multirun").rglob(".submitit/*/*_log.out"))
    # a parallel launcher: 1 thread per job unless the environment already chose
    assert runs["echo"]["threads"]["OMP_NUM_THREADS"] == os.environ.get("OMP_NUM_THREADS", "1")


@pytest.mark.parametrize(
    ("requested", "env", "parallel", "expected"),
    [
        (None, {}, False, None),
        (None, {}, True, 1),
        (3, {}, True, 3),
        (None, {"OMP_NUM_THREADS": "4"}, True, 4),
        (None, {"SLURM_CPUS_PER_TASK": "8"}, True, 8),
        (2, {"OMP_NUM_THREADS": "4"}, False, 2),
    ],
)
def test_resolve_threads(requested: Any, env: dict[str, str], parallel: bool, expected: int | None) -> None:
    assert resolve_threads(requested, env, parallel) == expected


def test_resolve_threads_rejects_zero() -> None:
    with pytest.raises(MtharnessError, match="threads=0"):
        resolve_threads(0, {}, False)


def _fake_slurm(bin_dir: Path, record: Path) -> None:
    """sbatch that records the job script instead of queueing it; srun only has to exist."""
    bin_dir.mkdir()
    scripts = {
        "sbatch": f'#!/bin/sh\ncp "$1" "{record}.tmp" && mv "{record}.tmp" "{record}"\necho "Submitted batch job 4242"\n',
        "srun": "#!/bin/sh\nexit 1\n",
        "sacct": "#!/bin/sh\nprintf 'JobID|State|NodeList\\n4242_0|PENDING|None\\n'\n",
    }
    for name, text in scripts.items():
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)


def test_submitit_slurm_writes_sbatch_with_documented_keys(tmp_path: Path) -> None:
    """The README's SLURM keys become #SBATCH lines (a fake sbatch records the script; nothing runs)."""
    import subprocess
    import sys
    import time

    record = tmp_path / "job.sbatch"
    _fake_slurm(tmp_path / "bin", record)
    env = {**os.environ, "PATH": f"{tmp_path / 'bin'}:{os.environ['PATH']}"}
    args = [
        "run",
        "-m",
        "hydra/launcher=submitit_slurm",
        "hydra.launcher.partition=gpu",
        "hydra.launcher.gpus_per_task=1",
        "hydra.launcher.cpus_per_task=4",
        "hydra.launcher.mem_gb=16",
        "hydra.launcher.timeout_min=120",
        "translator=echo",
        f"results_dir={tmp_path / 'results'}",
    ]
    proc = subprocess.Popen(
        [sys.executable, "-m", "mtharness", *args],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 180  # a bound for a busy machine
        while not record.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        # the launcher would now poll sacct for a job that never runs: stop it
        proc.kill()
        _, err = proc.communicate()
    assert record.exists(), err
    script = record.read_text()
    for line in (
        "--partition=gpu",
        "--gpus-per-task=1",
        "--cpus-per-task=4",
        "--mem=16GB",
        "--time=120",
    ):
        assert f"#SBATCH {line}\n" in script
    assert "submitit.core._submit" in script


def test_neural_backends_take_the_jobs_thread_share(monkeypatch: pytest.MonkeyPatch) -> None:
    """hf/ct2 with threads=null follow OMP_NUM_THREADS (what a parallel job was given), not all cores."""
    from mtharness.translators.seq2seq import threads_to_use

    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert threads_to_use(None) == 1
    assert threads_to_use(3) == 3
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert threads_to_use(None) == len(os.sched_getaffinity(0))


def test_submitit_local_failed_job_is_one_line(tmp_path: Path) -> None:
    """The failing-job path of the SLURM launcher, through submitit's local executor (no cluster needed)."""
    import re

    missing = tmp_path / "missing.en"
    args = ["run", "-m", "hydra/launcher=submitit_local", "hydra.launcher.timeout_min=5", "translator=echo"]
    args += ["dataset=files", "dataset.src_lang=en", "dataset.tgt_lang=es", f"dataset.src={missing}"]
    proc = run_cli([*args, "progress=false", f"results_dir={tmp_path / 'results'}"], cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    match = re.fullmatch(r"mtharness run: error: submitit local job (\d+) failed: (.+); log: (\S+)", last)
    assert match, last
    assert str(missing) in match[2] and Path(match[3]).is_file()
    assert f"error: {match[2]}" in Path(match[3]).read_text()


def test_job_failure_travels_back_as_a_system_exit() -> None:
    """Hydra's reporter turns an Exception into a traceback; the pickled failure comes back as SystemExit."""
    import pickle

    from mtharness.cli.launchers import JobFailed, SweepJobFailed

    back = pickle.loads(pickle.dumps(JobFailed("mtharness run: error: SLURM job 3_1 failed: x; log: y", 2)))
    assert isinstance(back, SweepJobFailed) and isinstance(back, SystemExit)
    assert back.message.endswith("log: y") and back.code == 2


def test_uncompleted_job_is_one_line(tmp_path: Path) -> None:
    """submitit's error for a job that died without a result (its 1.5 wording), as one line with the log."""
    from submitit.core.utils import UncompletedJobError

    from mtharness.cli.launchers import uncompleted_job_line

    folder = tmp_path / ".submitit" / "7_1"
    folder.mkdir(parents=True)
    (folder / "7_1_0_log.err").write_text("slurmstepd: error: *** JOB 8 ON vm DUE TO TIME LIMIT ***\n")
    exc = UncompletedJobError(
        f"Job 7_1 (task: 0) with path {folder}/7_1_0_result.pkl\nhas not produced any output (state: TIMEOUT)"
    )
    assert uncompleted_job_line(exc, ["hydra/launcher=submitit_slurm"]) == (
        f"mtharness run: error: SLURM job 7_1 failed: ended without a result (state: TIMEOUT); "
        f"log: {folder}/7_1_0_log.err"
    )
    assert uncompleted_job_line(RuntimeError("Job 7_1 (task: 0) with path x"), []) is None
