"""Sharded run end to end: two shard processes fill one cache, the merge run scores with zero model calls."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO
from tests.helpers.counting import read_calls

pytest.importorskip("mtharness.run.cache", reason="the translation cache (branch neural) is not merged yet")

ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)])}


def _args(tmp: Path, log: Path, cache_dir: Path, run_dir: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "mtharness",
        "run",
        "translator=apertium",
        "translator._target_=tests.helpers.counting.CountingApertium",
        f"+translator.calls_log={log}",
        f"cache.dir={cache_dir}",
        "limit=60",
        "chunk_size=25",
        "progress=false",
        f"hydra.run.dir={run_dir}",
        *extra,
    ]


def _start_shards(tmp: Path, log: Path, cache_dir: Path, count: int, *extra: str) -> list[Path]:
    """Shard processes started together: concurrent writers to the cache."""
    procs, dirs = [], []
    for i in range(count):
        run_dir = tmp / f"shard{i}"
        args = _args(tmp, log, cache_dir, run_dir, f"shard.index={i}", f"shard.count={count}", *extra)
        procs.append(subprocess.Popen(args, cwd=tmp, env=ENV, stderr=subprocess.PIPE, text=True))
        dirs.append(run_dir)
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    return dirs


def _scores_of(run_dir: Path) -> dict[str, Any]:
    return json.loads((run_dir / "scores.json").read_text())


@pytest.fixture(scope="module")
def unsharded(apertium: None, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The reference: one plain run with its own cache."""
    tmp = tmp_path_factory.mktemp("plain")
    run_dir = tmp / "plain"
    args = _args(tmp, tmp / "calls.jsonl", tmp / "cache", run_dir)
    proc = subprocess.run(args, cwd=tmp, env=ENV, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    return run_dir


@pytest.mark.parametrize("per_shard", [False, True])
def test_shards_then_merge_equals_unsharded_with_zero_calls(
    unsharded: Path, tmp_path: Path, per_shard: bool
) -> None:
    log = tmp_path / "calls.jsonl"
    reference = _scores_of(unsharded)
    cache_dir = tmp_path / "shared_cache"
    flag = f"cache.per_shard={str(per_shard).lower()}"
    dirs = _start_shards(tmp_path, log, cache_dir, 2, flag)
    manifests = [json.loads((d / "shard.json").read_text()) for d in dirs]
    assert all(not (d / "scores.json").exists() for d in dirs)
    total = reference["n_segments"]
    assert sum(m["n_segments"] for m in manifests) == total
    shard_calls = read_calls(log)
    # both directions of every slice were translated by the shard runs
    assert {c["pair"] for c in shard_calls} == {"en-es", "es-en"}
    assert sum(c["n"] for c in shard_calls if c["pair"] == "en-es") == total
    if per_shard:
        assert sorted(p.name for p in cache_dir.glob("cache-*-of-*.sqlite")) == [
            "cache-0-of-2.sqlite",
            "cache-1-of-2.sqlite",
        ]

    merged = tmp_path / "merged"
    proc = subprocess.run(
        _args(tmp_path, log, cache_dir, merged, flag),
        cwd=tmp_path,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    result = _scores_of(merged)
    assert read_calls(log) == shard_calls, "the merge run called the translator"
    for direction in ("forward", "round_trip"):
        assert result["directions"][direction]["cache"] == {"hits": total, "misses": 0}
    assert result["scores"] == reference["scores"]  # scores and signatures
    assert (merged / "segments.jsonl").read_text() == (unsharded / "segments.jsonl").read_text()


def test_merge_shard_caches_is_idempotent(tmp_path: Path) -> None:
    from mtharness.core import CacheCounts
    from mtharness.run.cache import CachedTranslator
    from mtharness.run.shard import cache_settings, merge_shard_caches
    from mtharness.translators.echo import EchoTranslator

    texts = [f"segment {i}" for i in range(30)]
    for i in range(3):
        part = CachedTranslator(EchoTranslator(), tmp_path, **cache_settings((i, 3), per_shard=True))
        part.translate(texts[i::3], "en", "es")
        part.close()
    assert merge_shard_caches(tmp_path) == {"files": 3, "added": 30}
    assert merge_shard_caches(tmp_path) == {"files": 3, "added": 0}
    merged = CachedTranslator(EchoTranslator(), tmp_path, **cache_settings(None, per_shard=True))
    assert merged.translate(texts, "en", "es") == texts
    assert merged.cache_counts() == {"en-es": CacheCounts(hits=30, misses=0)}


def test_shard_run_without_cache_is_one_line_error(tmp_path: Path) -> None:
    args = [sys.executable, "-m", "mtharness", "run", "translator=echo", "cache.enabled=false"]
    args += ["shard.index=0", "shard.count=2", f"hydra.run.dir={tmp_path / 'r'}"]
    proc = subprocess.run(
        args, cwd=tmp_path, env=ENV, capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 2
    assert "set cache.enabled=true" in proc.stderr.strip().splitlines()[-1]
    assert not (tmp_path / "r" / "shard.json").exists()
