"""Issue 26, faults at scale (the mechanism; scripts/faults_at_scale.py measures 10,000 segments):
translator=openai against a server failing 5% of first requests loses nothing and counts its retries;
four runs sharing one cache at once agree and never see "database is locked"."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO, run_cli
from tests.helpers.openai_fault_server import FaultServer

pytestmark = pytest.mark.slow  # two or more full runs of 300 segments each (~40 s)

N = 300


def _data(folder: Path, n: int = N) -> None:
    words = ["river", "market", "quiet", "engine", "garden", "winter", "letter", "silver"]
    src = [f"segment {i}: the {words[i % 8]} near the {words[(i * 3) % 8]} number {i * 7}" for i in range(n)]
    (folder / "src.en").write_text("".join(f"{s}\n" for s in src), encoding="utf-8")
    (folder / "ref.es").write_text("".join(f"{s.upper()}\n" for s in src), encoding="utf-8")


def _args(server: FaultServer, run_dir: str, cache: str) -> list[str]:
    return [
        "run",
        "translator=openai",
        "translator.model=tiny",
        f"translator.base_url={server.base_url}",
        "translator.max_concurrency=16",
        "translator.timeout_s=2",
        "translator.backoff_s=0.01",
        "translator.max_retries=4",
        "dataset=files",
        "dataset.src=src.en",
        "dataset.refs=[ref.es]",
        "dataset.src_lang=en",
        "dataset.tgt_lang=es",
        "round_trip=false",
        "progress=false",
        "validity.langid.enabled=false",
        f"cache.dir={cache}",
        f"hydra.run.dir={run_dir}",
    ]


@pytest.fixture
def faulty() -> Iterator[FaultServer]:
    with FaultServer(slow_s=6.0, fault_rate=0.05, retry_after="1") as srv:
        yield srv


def test_five_percent_faults_lose_nothing_and_are_counted(faulty: FaultServer, tmp_path: Path) -> None:
    _data(tmp_path)
    with FaultServer() as clean:
        ref = run_cli(_args(clean, "clean", "cache_clean"), tmp_path)
    assert ref.returncode == 0, ref.stderr
    done = run_cli(_args(faulty, "faulty", "cache_faulty"), tmp_path)
    assert done.returncode == 0, done.stderr
    injected = sum(faulty.injected.values())
    assert set(faulty.injected) == {"FIVEHUNDRED", "RATE", "SLOW", "BADJSON"} and 5 <= injected <= 30
    assert (tmp_path / "faulty" / "hyp.es.txt").read_bytes() == (
        tmp_path / "clean" / "hyp.es.txt"
    ).read_bytes()
    usage = json.loads((tmp_path / "faulty" / "scores.json").read_text())["usage"]
    assert (
        usage["retries"] >= injected
    )  # every injected fault cost exactly one retry (a slow machine may add)
    assert usage["requests"] == N + usage["retries"]
    assert sum(n for k, n in usage["outcomes"].items() if k != "ok") == usage["retries"]
    assert usage["outcomes"]["ok"] == N


def test_four_runs_sharing_one_cache_at_once(tmp_path: Path) -> None:
    _data(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    with FaultServer(fault_rate=0.05, slow_s=6.0) as server:
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "mtharness", *_args(server, f"run{i}", "shared_cache")],
                cwd=tmp_path,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for i in range(4)
        ]
        outs = [p.communicate(timeout=600) for p in procs]
    for proc, (_, err) in zip(procs, outs, strict=True):
        assert proc.returncode == 0, err
        assert "database is locked" not in err
    hyps = {(tmp_path / f"run{i}" / "hyp.es.txt").read_bytes() for i in range(4)}
    assert len(hyps) == 1
    assert hyps.pop() == (tmp_path / "ref.es").read_bytes()  # the server answers each segment upper-cased
