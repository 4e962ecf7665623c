"""Faults at scale, measured: what issue 26 asks the harness to survive, on this machine.

    python scripts/faults_at_scale.py                 # 10,000 segments (several minutes on 2 cores)
    python scripts/faults_at_scale.py --n 300         # a quick check that the script works
    python scripts/faults_at_scale.py --slurm         # also the SLURM shard kill + resubmit (root)

1. ``translator=openai`` against a local server (tests/translators/openai_fault_server.py) that fails
   5% of the segments' first requests (HTTP 500, 429 with Retry-After, a timeout, a broken JSON body)
   at concurrency 16, next to a fault-free run: are the outputs byte-identical, how many retries.
2. four runs at once sharing one translation cache on the same data: identical outputs, and how
   often "database is locked" appears.
3. (--slurm) a 3-shard SLURM array translating into per-shard caches; one shard is cancelled with
   scancel while it runs and resubmitted; the merge run's files are compared with an unsharded run.

Figures are printed (and go in docs/performance.md by hand); nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from contextlib import closing, suppress
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from tests.helpers.openai_fault_server import FaultServer  # noqa: E402

ENV = {**os.environ, "PYTHONPATH": str(REPO / "src"), "HF_HUB_OFFLINE": "1", "OMP_WAIT_POLICY": "PASSIVE"}
WORDS = ["river", "market", "quiet", "engine", "garden", "winter", "letter", "silver", "bridge", "cloud"]


def make_data(folder: Path, n: int) -> None:
    src = [f"segment {i}: the {WORDS[i % 10]} by the {WORDS[(i * 7) % 10]}, case {i * 13}" for i in range(n)]
    (folder / "src.en").write_text("".join(f"{s}\n" for s in src), encoding="utf-8")
    (folder / "ref.es").write_text("".join(f"{s.upper()}\n" for s in src), encoding="utf-8")


def run_args(base_url: str, run_dir: Path, cache: Path, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "mtharness", "run",
        "translator=openai", "translator.model=tiny", f"translator.base_url={base_url}",
        "translator.max_concurrency=16", "translator.timeout_s=2", "translator.backoff_s=0.05",
        "translator.max_retries=5",
        "dataset=files", "dataset.src=src.en", "dataset.refs=[ref.es]",
        "dataset.src_lang=en", "dataset.tgt_lang=es", "round_trip=false", "progress=false",
        "validity.langid.enabled=false", "metrics=[bleu]", f"cache.dir={cache}", f"hydra.run.dir={run_dir}",
        *extra,
    ]  # fmt: skip


def timed(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[float, str]:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env or ENV, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd[3:])}\n{proc.stderr[-2000:]}")
    return time.perf_counter() - t0, proc.stderr


def faults(work: Path, n: int) -> dict[str, Any]:
    with FaultServer() as clean:
        clean_s, _ = timed(run_args(clean.base_url, work / "clean", work / "cache_clean"), work)
    with FaultServer(slow_s=6.0, fault_rate=0.05, retry_after="1") as server:
        faulty_s, _ = timed(run_args(server.base_url, work / "faulty", work / "cache_faulty"), work)
        injected = dict(server.injected)
    usage = json.loads((work / "faulty" / "scores.json").read_text())["usage"]
    same = (work / "faulty" / "hyp.es.txt").read_bytes() == (work / "clean" / "hyp.es.txt").read_bytes()
    return {
        "segments": n,
        "injected": injected,
        "injected_total": sum(injected.values()),
        "retries": usage["retries"],
        "requests": usage["requests"],
        "outcomes": usage["outcomes"],
        "identical_to_fault_free": same,
        "fault_free_s": round(clean_s, 1),
        "with_faults_s": round(faulty_s, 1),
    }


def shared_cache(work: Path, n: int) -> dict[str, Any]:
    with FaultServer(slow_s=6.0, fault_rate=0.05) as server:
        t0 = time.perf_counter()
        procs = [
            subprocess.Popen(
                run_args(server.base_url, work / f"shared{i}", work / "shared_cache"),
                cwd=work,
                env=ENV,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for i in range(4)
        ]
        outs = [p.communicate() for p in procs]
        wall = time.perf_counter() - t0
        requests = len(server.requests)
    hyps = {(work / f"shared{i}" / "hyp.es.txt").read_bytes() for i in range(4) if procs[i].returncode == 0}
    return {
        "segments": n,
        "runs": 4,
        "exit_codes": [p.returncode for p in procs],
        "identical": len(hyps) == 1 and all(p.returncode == 0 for p in procs),
        "database_is_locked": sum(err.count("database is locked") for _, err in outs),
        "server_requests": requests,
        "wall_s": round(wall, 1),
    }


def _slurm(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(REPO / "scripts" / "slurm_local.sh"), *args], capture_output=True, text=True)


def _rows(path: Path) -> int:
    if not path.is_file():
        return 0
    try:
        with closing(sqlite3.connect(path, timeout=5)) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM translations").fetchone()[0])
    except sqlite3.Error:
        return 0


def _kill_task(array: str, task: str) -> list[int]:
    """SIGKILL every process of SLURM array task ``array_task`` on this node (found by its environment)."""
    want = {f"SLURM_ARRAY_JOB_ID={array}".encode(), f"SLURM_ARRAY_TASK_ID={task}".encode()}
    killed = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            env = set((proc / "environ").read_bytes().split(b"\0"))
        except OSError:
            continue
        if want <= env:
            with suppress(OSError):
                os.kill(int(proc.name), signal.SIGKILL)
                killed.append(int(proc.name))
    return killed


def _wait_gone(job: str, env: dict[str, str]) -> None:
    """Until SLURM has no task of array ``job`` left (the sweep returns at its first failed task)."""
    while subprocess.run(["squeue", "-h", "-j", job], env=env, capture_output=True, text=True).stdout.strip():
        time.sleep(0.5)


def slurm_kill(work: Path, n: int, concurrency: int = 16) -> dict[str, Any]:
    """Shard 1 of 3 cancelled mid-run, resubmitted; the merge compared with an unsharded run."""
    if _slurm("status").returncode != 0 and _slurm("start").returncode != 0:  # left running: shared
        return {"skipped": "no one-node SLURM cluster (scripts/slurm_local.sh start needs root)"}
    env = {**ENV, "SLURM_CONF": _slurm("env").stdout.strip().split("=", 1)[1]}
    slurm = ["hydra/launcher=submitit_slurm", "hydra.launcher.timeout_min=30", "cache.per_shard=true"]
    cache = work / "slurm_cache"
    with FaultServer(delay_s=0.2) as server:  # slow enough to cancel a shard while it translates
        base = run_args(server.base_url, work / "unused", cache)
        base = [a for a in base if not a.startswith("hydra.run.dir=")]
        # Hydra's -m goes before the overrides: base[:4] is `python -m mtharness run`
        shard_cmd = [
            *base[:4],
            "-m",
            *base[4:],
            *slurm,
            "shard.count=3",
            f"results_dir={work / 'slurm_results'}",
        ]
        shard_cmd.append(f"translator.max_concurrency={concurrency}")
        proc = subprocess.Popen(
            [*shard_cmd, "shard.index=range(3)"], cwd=work, env=env, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        shard1 = cache / "cache-1-of-3.sqlite"
        while _rows(shard1) < 10 and proc.poll() is None:  # shard 1 has committed answers: cancel it
            time.sleep(0.2)
        jobs = sorted(p.name for p in (work / "slurm_results").glob("multirun/*/*/.submitit/*_1"))
        killed_at = _rows(shard1)
        killed_pids: list[int] = []
        if jobs:
            subprocess.run(["scancel", jobs[0]], env=env, check=False)
            # the one-node cluster tracks processes by process group (no cgroups in this container), and
            # submitit's step outlives scancel there: end it with SIGKILL as a node's OOM killer would
            killed_pids = _kill_task(*jobs[0].split("_"))
        _, err = proc.communicate()
        cancelled = proc.returncode != 0
        if jobs:
            _wait_gone(jobs[0].split("_")[0], env)
        rows_after_kill = _rows(shard1)
        resubmit_s, _ = timed([*shard_cmd, "shard.index=1"], work, env)
        merge_s, _ = timed([*base, "cache.per_shard=true", f"hydra.run.dir={work / 'merged'}"], work, env)
    with FaultServer() as clean:
        timed(run_args(clean.base_url, work / "unsharded", work / "unsharded_cache"), work)
    same = all(
        (work / "merged" / f).read_bytes() == (work / "unsharded" / f).read_bytes()
        for f in ("hyp.es.txt", "segments.jsonl")
    )
    merged = json.loads((work / "merged" / "scores.json").read_text())
    return {
        "segments": n,
        "shards": 3,
        "cancelled_job": jobs[0] if jobs else None,
        "killed_processes": len(killed_pids),
        "sweep_reported_failure": cancelled,
        "shard1_rows_when_cancelled": killed_at,
        "shard1_rows_kept": rows_after_kill,
        "resubmit_s": round(resubmit_s, 1),
        "merge_s": round(merge_s, 1),
        "merge_cache": merged["directions"]["forward"].get("cache"),
        "merge_equals_unsharded": same,
        "last_error_line": (err.strip().splitlines() or [""])[-1][:200],
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=10_000, help="segments (default 10,000)")
    p.add_argument("--slurm", action="store_true", help="also the SLURM shard kill + resubmit")
    p.add_argument("--only", choices=["faults", "shared", "slurm"], help="one section")
    p.add_argument("--slurm-concurrency", type=int, default=16, help="requests in flight per shard")
    args = p.parse_args()
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="mth-faults-") as tmp:
        work = Path(tmp)
        make_data(work, args.n)
        if args.only in (None, "faults"):
            out["faults"] = faults(work, args.n)
            print(json.dumps({"faults": out["faults"]}), flush=True)
        if args.only in (None, "shared"):
            out["shared_cache"] = shared_cache(work, args.n)
            print(json.dumps({"shared_cache": out["shared_cache"]}), flush=True)
        if args.slurm or args.only == "slurm":
            out["slurm"] = slurm_kill(work, args.n, args.slurm_concurrency)
            print(json.dumps({"slurm": out["slurm"]}), flush=True)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
