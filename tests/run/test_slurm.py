"""Sweeps and sharded runs submitted through a real one-node SLURM cluster (scripts/slurm_local.sh).

The session starts the cluster itself (as root, with Debian's slurm-wlm, munge, slurmdbd and
mariadb-server) and stops it at the end; a cluster that was already up is used and left running.
Every job goes through the real sbatch, slurmctld, slurmd and slurmdbd: sacct confirms their states.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO, run_cli
from tests.helpers.counting import read_calls

pytestmark = pytest.mark.slurm

SCRIPT = REPO / "scripts" / "slurm_local.sh"
SLURM = ["-m", "hydra/launcher=submitit_slurm", "hydra.launcher.timeout_min=5", "progress=false"]


def _script(*args: str, timeout: int = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture(scope="session")
def slurm_env() -> Iterator[dict[str, str]]:
    """The environment that points sbatch/sacct at the one-node cluster, started here if it is down."""
    started = False
    if _script("status").returncode != 0:
        proc = _script("start")
        if proc.returncode != 0:
            reason = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            pytest.skip(f"no one-node SLURM cluster ({SCRIPT.name} start: {reason})")
        started = True
    conf = _script("env").stdout.strip().split("=", 1)[1]
    pythonpath = os.pathsep.join([str(REPO / "src"), str(REPO)])  # the jobs import tests.helpers.counting too
    try:
        yield {"SLURM_CONF": conf, "PYTHONPATH": pythonpath}
    finally:
        if started:
            _script("stop")


def _sacct_states(job_id: str, env: dict[str, str], expected: int) -> dict[str, str]:
    """State of each job (array task) of job_id in SLURM's accounting; slurmdbd may lag a second."""
    states: dict[str, str] = {}
    # a bound, not a guess at the lag: a busy machine's slurmdbd can take far longer than 10 s
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        out = subprocess.run(
            ["sacct", "-n", "-P", "-X", "-j", job_id, "-o", "JobID,State"],
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        states = dict(line.split("|", 1) for line in out.splitlines() if line)
        if len(states) >= expected and not {"PENDING", "RUNNING", "COMPLETING"} & set(states.values()):
            return states
        time.sleep(0.2)
    return states


def _job_ids(sweep: Path) -> list[str]:
    """SLURM ids of a sweep's array tasks: submitit keeps one folder per task (<array>_<i>) under .submitit."""
    return sorted(p.name for p in (sweep / ".submitit").iterdir() if p.is_dir() and "_" in p.name)


def _only_sweep(results: Path) -> Path:
    (sweep,) = [p.parent for p in (results / "multirun").glob("*/*/.submitit")]
    return sweep


def test_sweep_two_translators_one_run_folder_each(
    slurm_env: dict[str, str], apertium: None, tmp_path: Path
) -> None:
    results = tmp_path / "results"
    args = ["run", *SLURM, "translator=echo,apertium", "limit=20", f"results_dir={results}"]
    proc = run_cli(args, cwd=tmp_path, env=slurm_env)
    assert proc.returncode == 0, proc.stderr
    assert "sacct" not in proc.stderr  # accounting answers: submitit polls it without warnings
    sweep = _only_sweep(results)
    runs = {json.loads(p.read_text())["translator"]["name"]: p.parent for p in sweep.glob("*/scores.json")}
    assert set(runs) == {"echo", "apertium"} and runs["echo"] != runs["apertium"]
    for name, run_dir in runs.items():
        scores = json.loads((run_dir / "scores.json").read_text())
        assert scores["n_segments"] == 20 and scores["scores"]["round_trip"]["BLEU"]["signature"]
        assert (run_dir / "hyp.es.txt").read_text().count("\n") == 20, name
    jobs = _job_ids(sweep)
    assert len(jobs) == 2
    array = jobs[0].split("_")[0]  # hydra-submitit submits a sweep as one array job
    assert _sacct_states(array, slurm_env, 2) == {f"{array}_0": "COMPLETED", f"{array}_1": "COMPLETED"}


def _counting_args(translator: str, calls: Path, cache_dir: Path, *extra: str) -> list[str]:
    target = {
        "echo": "tests.helpers.counting.CountingEcho",
        "apertium": "tests.helpers.counting.CountingApertium",
    }
    return [
        f"translator={translator}",
        f"translator._target_={target[translator]}",
        f"+translator.calls_log={calls}",
        f"cache.dir={cache_dir}",
        "cache.per_shard=true",
        "limit=60",
        "chunk_size=25",
        "progress=false",
        *extra,
    ]


def _plain_run(args: list[str], cwd: Path, env: dict[str, str], run_dir: Path) -> dict[str, Any]:
    proc = run_cli(["run", *args, f"hydra.run.dir={run_dir}"], cwd=cwd, env=env)
    assert proc.returncode == 0, proc.stderr
    return json.loads((run_dir / "scores.json").read_text())


@pytest.mark.parametrize("translator", ["echo", "apertium"])
def test_shards_as_array_job_then_merge_equals_unsharded(
    slurm_env: dict[str, str], translator: str, tmp_path: Path
) -> None:
    reference_dir = tmp_path / "unsharded"
    reference = _plain_run(
        _counting_args(translator, tmp_path / "ref_calls.jsonl", tmp_path / "ref_cache"),
        tmp_path,
        slurm_env,
        reference_dir,
    )
    calls, cache_dir = tmp_path / "calls.jsonl", tmp_path / "cache"
    shard_args = _counting_args(translator, calls, cache_dir, "shard.count=3", "shard.index=range(3)")
    results = tmp_path / "results"
    proc = run_cli(["run", *SLURM, *shard_args, f"results_dir={results}"], cwd=tmp_path, env=slurm_env)
    assert proc.returncode == 0, proc.stderr
    sweep = _only_sweep(results)
    jobs = _job_ids(sweep)
    array = jobs[0].split("_")[0]
    assert jobs == [f"{array}_{i}" for i in range(3)]  # one array job, one task per shard
    assert set(_sacct_states(array, slurm_env, 3).values()) == {"COMPLETED"}
    manifests = [json.loads(p.read_text()) for p in sorted(sweep.glob("*/shard.json"))]
    assert [m["shard"]["index"] for m in manifests] == [0, 1, 2]
    assert sum(m["n_segments"] for m in manifests) == reference["n_segments"] == 60
    assert not list(sweep.glob("*/scores.json"))  # shards translate, they do not score
    assert sorted(p.name for p in cache_dir.glob("cache-*-of-3.sqlite")) == [
        f"cache-{i}-of-3.sqlite" for i in range(3)
    ]
    shard_calls = read_calls(calls)
    assert sum(c["n"] for c in shard_calls if c["pair"] == "en-es") == 60

    merged_dir = tmp_path / "merged"  # the merge run, here on the submitting machine
    merged = _plain_run(_counting_args(translator, calls, cache_dir), tmp_path, slurm_env, merged_dir)
    assert read_calls(calls) == shard_calls, "the merge run called the translator"
    for direction in ("forward", "round_trip"):
        assert merged["directions"][direction]["cache"] == {"hits": 60, "misses": 0}
    assert merged["scores"] == reference["scores"]  # scores and signatures
    for name in ("hyp.es.txt", "rt.en.txt", "segments.jsonl"):
        assert (merged_dir / name).read_bytes() == (reference_dir / name).read_bytes(), name


def test_failed_job_is_one_line_naming_job_and_log(slurm_env: dict[str, str], tmp_path: Path) -> None:
    good = tmp_path / "good.en"
    good.write_text("The cat sleeps.\nIt rains today.\n", encoding="utf-8")
    missing = tmp_path / "missing.en"
    results = tmp_path / "results"
    args = ["run", *SLURM, "translator=echo", "dataset=files", "dataset.src_lang=en"]
    args += ["dataset.tgt_lang=es", f"dataset.src={good},{missing}", f"results_dir={results}"]
    proc = run_cli(args, cwd=tmp_path, env=slurm_env)
    assert proc.returncode == 2, proc.stderr  # the exit code of the same bad run on this machine
    assert "Traceback" not in proc.stderr and "HYDRA_FULL_ERROR" not in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    match = re.fullmatch(r"mtharness run: error: SLURM job (\d+)_(\d+) failed: (.+); log: (\S+)", last)
    assert match, last
    array, task, cause, log = match.groups()
    assert str(missing) in cause and "no such file" in cause
    assert task == "1" and Path(log).name == f"{array}_1_0_log.err"
    assert f"error: {cause}" in Path(log).read_text()  # the job's own log has the whole story
    sweep = _only_sweep(results)
    assert [p.parent.name for p in sweep.glob("*/scores.json")] == ["0_echo_files"]  # the good job ran
    states = _sacct_states(array, slurm_env, 2)
    assert states == {f"{array}_0": "COMPLETED", f"{array}_1": "FAILED"}


def test_script_start_is_idempotent_and_status_reports(slurm_env: dict[str, str]) -> None:
    again = _script("start")
    assert again.returncode == 0, again.stderr
    status = _script("status")
    assert (
        status.returncode == 0
        and status.stdout.startswith("up: ")
        and slurm_env["SLURM_CONF"] in status.stdout
    )


def test_script_refuses_without_root_in_one_line(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        proc = _script("start")
    else:  # as root: ask as an unprivileged user
        proc = subprocess.run(
            ["runuser", "-u", "nobody", "--", str(SCRIPT), "start"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
            env={**os.environ, "MTHARNESS_SLURM_DIR": str(tmp_path / "cluster")},
        )
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "slurm_local.sh: error: start needs root (the daemons run as root on this one-node cluster); "
        "run it with sudo"
    )
    assert not (tmp_path / "cluster").exists()


def test_job_killed_by_slurm_is_one_line(slurm_env: dict[str, str], tmp_path: Path) -> None:
    """scancel (as a time limit or the OOM killer would) leaves no result: still one line, exit 1."""
    import sys

    results = tmp_path / "results"
    # the job sleeps in its sbatch setup lines, long enough to be cancelled while it runs
    args = ["run", *SLURM, "hydra.launcher.setup=[sleep 60]", "translator=echo", "limit=5"]
    env = {**os.environ, **slurm_env}
    proc = subprocess.Popen(
        [sys.executable, "-m", "mtharness", *args, f"results_dir={results}"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 180  # a bound for a busy machine, not an expected time
        job_dirs: list[Path] = []
        while not job_dirs and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.5)
            job_dirs = [p for p in results.glob("multirun/*/*/.submitit/*") if p.is_dir()]
        assert job_dirs, "the sweep submitted nothing"
        job = job_dirs[0].name
        state = ""
        while state != "RUNNING" and time.monotonic() < deadline:
            time.sleep(0.2)
            squeue = ["squeue", "-h", "-j", job, "-o", "%T"]
            state = subprocess.run(squeue, env=env, capture_output=True, text=True, check=True).stdout.strip()
        assert state == "RUNNING"
        subprocess.run(["scancel", job], env=env, check=True)
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 1, err
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith(
        f"mtharness run: error: SLURM job {job} failed: ended without a result (state: CANCELLED"
    )
    log = Path(last.rsplit("; log: ", 1)[1])
    assert log.is_file() and "CANCELLED" in log.read_text()
    assert _sacct_states(job, slurm_env, 1)[job].startswith("CANCELLED")  # "CANCELLED by 0"
