"""Translation cache: zero model calls on rerun, resume after kill -9, concurrent runs, opt-outs."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import pytest

from mtharness.cli.run import build_translator, run_from_config
from mtharness.run.cache import (
    CACHE_FILE,
    CachedTranslator,
    insert,
    lookup,
    open_cache,
    system_key,
    with_cache,
)
from mtharness.run.record import CacheCounts, RunRecord
from mtharness.textio import read_lines
from mtharness.translators.echo import EchoTranslator
from mtharness.translators.hf import HFTranslator
from tests.conftest import REPO, compose
from tests.helpers.neural_fixtures import SAMPLE_EN


class CountingHF(HFTranslator):
    """The real hf translator, recording every text that reaches the model."""

    seen: ClassVar[list[str]] = []

    def translate(self, texts: Sequence[str], src: str, tgt: str) -> list[str]:
        CountingHF.seen.extend(texts)
        return super().translate(texts, src, tgt)


def test_lookup_insert_and_keys(tmp_path: Path) -> None:
    conn = open_cache(tmp_path / "c.sqlite")
    a, b = system_key({"backend": "x", "beam": 1}), system_key({"beam": 1, "backend": "x"})
    assert a == b != system_key({"backend": "x", "beam": 2})
    insert(conn, a, "en-de", {"Hi.": "Hallo.", "": ""}, {"backend": "x"})
    assert lookup(conn, a, "en-de", ["Hi.", "Bye.", ""]) == {"Hi.": "Hallo.", "": ""}
    assert lookup(conn, a, "de-en", ["Hi."]) == {}  # direction is part of the key
    other = open_cache(tmp_path / "c.sqlite")  # a second connection sees committed rows
    insert(other, a, "en-de", {"Hi.": "something else"})  # first answer wins
    assert lookup(conn, a, "en-de", ["Hi."]) == {"Hi.": "Hallo."}
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_with_cache_respects_opt_outs(tmp_path: Path) -> None:
    from mtharness.translators.files import FilesTranslator

    assert isinstance(with_cache(EchoTranslator(), True, tmp_path), CachedTranslator)
    assert isinstance(with_cache(EchoTranslator(), False, tmp_path), EchoTranslator)
    assert isinstance(with_cache(FilesTranslator(), True, tmp_path), FilesTranslator)


def _cfg(model: Path, tmp_path: Path, *extra: str):  # type: ignore[no-untyped-def]
    return compose(
        [
            "translator=tiny_marian_copy",
            "translator._target_=tests.run.test_cache.CountingHF",
            f"translator.model={model}",
            f"results_dir={tmp_path}",
            "metrics=[chrf]",
            "progress=false",
            "limit=16",
            "chunk_size=8",
            *extra,
        ]
    )


def test_second_identical_run_makes_zero_model_calls(tiny_marian: Path, tmp_path: Path) -> None:
    CountingHF.seen.clear()
    first = run_from_config(_cfg(tiny_marian, tmp_path), tmp_path / "a")
    assert isinstance(first, RunRecord) and first.forward is not None
    n = 16
    assert len(CountingHF.seen) == 2 * n  # forward + back, each segment once
    assert first.forward.cache == CacheCounts(hits=0, misses=n)
    CountingHF.seen.clear()
    second = run_from_config(_cfg(tiny_marian, tmp_path), tmp_path / "b")
    assert isinstance(second, RunRecord) and second.forward is not None and second.round_trip is not None
    assert CountingHF.seen == []
    assert second.forward.cache == second.round_trip.cache == CacheCounts(hits=n, misses=0)
    assert second.scores == first.scores  # scores recomputed, equal
    assert read_lines(tmp_path / "a" / "rt.en.txt") == read_lines(tmp_path / "b" / "rt.en.txt")
    # another decoding setting is another system: nothing reused
    CountingHF.seen.clear()
    run_from_config(_cfg(tiny_marian, tmp_path, "translator.max_new_tokens=40"), tmp_path / "c")
    assert len(CountingHF.seen) == 2 * n
    # and the cache can be turned off
    CountingHF.seen.clear()
    off = run_from_config(_cfg(tiny_marian, tmp_path, "cache.enabled=false"), tmp_path / "d")
    assert isinstance(off, RunRecord) and off.forward is not None
    assert len(CountingHF.seen) == 2 * n and off.forward.cache is None
    assert isinstance(build_translator(_cfg(tiny_marian, tmp_path)), CountingHF)


def _run_args(model: Path, results: Path, run_dir: Path, limit: int, chunk: int) -> list[str]:
    return [
        sys.executable, "-m", "mtharness", "run",
        "translator=tiny_marian_copy", f"translator.model={model}",
        f"results_dir={results}", f"cache.dir={results / 'cache'}", f"hydra.run.dir={run_dir}",
        "metrics=[chrf]", "progress=false", f"limit={limit}", f"chunk_size={chunk}",
    ]  # fmt: skip


def _rows(db: Path) -> dict[str, int]:
    if not db.exists():
        return {}
    with sqlite3.connect(db, timeout=30) as conn:
        try:
            return dict(conn.execute("SELECT pair, count(*) FROM translations GROUP BY pair").fetchall())
        except sqlite3.OperationalError:  # schema not created yet
            return {}


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": f"{REPO / 'src'}{os.pathsep}{REPO}"}


def _scores(run_dir: Path) -> dict[str, Any]:
    return json.loads((run_dir / "scores.json").read_text())


@pytest.mark.slow
def test_kill_9_mid_run_then_rerun_translates_only_the_rest(tiny_marian: Path, tmp_path: Path) -> None:
    limit, db = 150, tmp_path / "cache" / CACHE_FILE
    proc = subprocess.Popen(
        _run_args(tiny_marian, tmp_path, tmp_path / "killed", limit, 10),
        cwd=REPO, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while _rows(db).get("en-es", 0) < 10 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done = _rows(db).get("en-es", 0)
    assert 10 <= done < limit, f"kill came too late ({done} of {limit} translated)"
    assert not (tmp_path / "killed" / "scores.json").exists()  # no half-written result

    rerun = subprocess.run(
        _run_args(tiny_marian, tmp_path, tmp_path / "rerun", limit, 10),
        cwd=REPO, env=_env(), capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    cache = _scores(tmp_path / "rerun")["directions"]
    assert cache["forward"]["cache"] == {"hits": done, "misses": limit - done}
    assert cache["round_trip"]["cache"]["hits"] + cache["round_trip"]["cache"]["misses"] == limit
    assert _rows(db)["en-es"] == limit


@pytest.mark.slow
def test_two_concurrent_runs_share_one_cache(tiny_marian: Path, tmp_path: Path) -> None:
    limit = 60  # 15 commits per direction and run: the two runs' writes interleave
    procs = [
        subprocess.Popen(
            _run_args(tiny_marian, tmp_path, tmp_path / f"run{i}", limit, 4),
            cwd=REPO,
            env=_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err[-2000:]
    a, b = (_scores(tmp_path / f"run{i}") for i in range(2))
    assert a["scores"] == b["scores"]
    for run in (a, b):
        for direction in ("forward", "round_trip"):
            counts = run["directions"][direction]["cache"]
            assert counts["hits"] + counts["misses"] == limit
    assert read_lines(tmp_path / "run0" / "hyp.es.txt") == read_lines(tmp_path / "run1" / "hyp.es.txt")
    rows = _rows(tmp_path / "cache" / CACHE_FILE)
    assert rows["en-es"] == len(set(read_lines(SAMPLE_EN)[:limit]))
    with sqlite3.connect(tmp_path / "cache" / CACHE_FILE) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def _open_and_close(path: str) -> str:
    from mtharness.core import MtharnessError
    from mtharness.run.cache import open_cache

    try:
        open_cache(path).close()
        return "ok"
    except MtharnessError as exc:
        return str(exc)


def test_processes_opening_a_new_cache_at_once_all_get_it(tmp_path: Path) -> None:
    """Switching a new file to WAL made a second opener fail at once with "database is locked" (SQLite
    does not wait out the busy timeout there): seen in CI as two runs sharing one new cache."""
    import multiprocessing

    with multiprocessing.get_context("fork").Pool(6) as pool:
        for trial in range(15):
            path = str(tmp_path / f"new{trial}" / CACHE_FILE)
            assert pool.map(_open_and_close, [path] * 6) == ["ok"] * 6
