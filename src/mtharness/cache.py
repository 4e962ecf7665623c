"""Translation cache: a SQLite file (stdlib) that any translator can sit behind.

Key: the translator's identity (model ids, revisions, decoding settings, backend versions: see each
backend's identity()), the direction and the source text. Every translate() call commits what it
translated before returning, so a run killed with kill -9 loses at most the chunk in flight and
the rerun translates only what is missing. WAL mode plus a busy timeout let several processes read
and write one file at once; INSERT OR IGNORE keeps the first answer for a key (a deterministic
translator gives the same one anyway). Scores are never cached: they are cheap and would go stale.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from mtharness.core import MtharnessError
from mtharness.translators.base import Translator, check_outputs

CACHE_FILE = "translations.sqlite"
BUSY_TIMEOUT_MS = 120_000
_SCHEMA = """
CREATE TABLE IF NOT EXISTS translations (
    system TEXT NOT NULL,
    pair TEXT NOT NULL,
    source_sha256 TEXT NOT NULL,
    output TEXT NOT NULL,
    PRIMARY KEY (system, pair, source_sha256)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS systems (system TEXT PRIMARY KEY, identity TEXT NOT NULL);
"""
_IN_CHUNK = 500  # SQLite caps the number of ? parameters per statement


def system_key(identity: Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON of a translator identity."""
    blob = json.dumps(identity, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def open_cache(path: str | Path) -> sqlite3.Connection:
    """Open (creating if needed) a cache file in WAL mode with a generous busy timeout."""
    p = Path(path).expanduser()
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(p, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA journal_mode=WAL")
        # NORMAL is durable against a killed process (the WAL is in the OS cache); only a power
        # cut could drop the last commits, which the next run simply translates again
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.executescript(_SCHEMA)
    except (OSError, sqlite3.Error) as exc:
        raise MtharnessError(
            f"translation cache {p}: cannot open ({exc}); set cache.dir to a writable local folder "
            "or turn the cache off with cache.enabled=false"
        ) from None
    return conn


def lookup(conn: sqlite3.Connection, system: str, pair: str, texts: Iterable[str]) -> dict[str, str]:
    """Cached outputs for those texts that have one, by source text."""
    by_key = {text_key(t): t for t in texts}
    keys = list(by_key)
    found: dict[str, str] = {}
    for start in range(0, len(keys), _IN_CHUNK):
        part = keys[start : start + _IN_CHUNK]
        rows = conn.execute(
            "SELECT source_sha256, output FROM translations WHERE system = ? AND pair = ? "
            f"AND source_sha256 IN ({','.join('?' * len(part))})",
            (system, pair, *part),
        )
        for key, output in rows:
            found[by_key[key]] = output
    return found


def insert(
    conn: sqlite3.Connection,
    system: str,
    pair: str,
    outputs: Mapping[str, str],
    identity: Mapping[str, Any] | None = None,
) -> None:
    """Store source -> output for one system and direction, in one committed transaction."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        if identity is not None:
            conn.execute(
                "INSERT OR IGNORE INTO systems VALUES (?, ?)",
                (system, json.dumps(identity, sort_keys=True, ensure_ascii=False, default=str)),
            )
        conn.executemany(
            "INSERT OR IGNORE INTO translations VALUES (?, ?, ?, ?)",
            [(system, pair, text_key(t), o) for t, o in outputs.items()],
        )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


class CachedTranslator:
    """Wraps a translator; only texts missing from the cache reach it. Same protocol as any backend.

    ``stats()`` gives hits and misses per direction ({"en-es": {"hits": 3, "misses": 7}}), counted
    per input segment; the runner copies them into scores.json.
    """

    def __init__(self, inner: Translator, cache_dir: str | Path, write_every: int = 256) -> None:
        self.inner = inner
        self.name = inner.name
        self.path = Path(cache_dir).expanduser() / CACHE_FILE
        self.write_every = max(1, int(write_every))
        self._conn: sqlite3.Connection | None = None
        self._system: str | None = None
        self._stats: dict[str, dict[str, int]] = {}

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = open_cache(self.path)
        return self._conn

    def system(self) -> str:
        if self._system is None:
            self._system = system_key(self.inner.identity())
        return self._system

    def translate(self, texts: Sequence[str], src: str, tgt: str) -> list[str]:
        if not texts:
            return []
        check = getattr(self.inner, "check_direction", None)
        if callable(check):  # a clear "no model for this pair" beats an error about another checkpoint
            check(src, tgt)
        conn, system, pair = self._connection(), self.system(), f"{src}-{tgt}"
        unique = list(dict.fromkeys(texts))
        found = lookup(conn, system, pair, unique)
        missing = [t for t in unique if t not in found]
        # commit every write_every segments: a kill loses at most one such piece
        for start in range(0, len(missing), self.write_every):
            part = missing[start : start + self.write_every]
            fresh = dict(
                zip(part, check_outputs(self.name, part, self.inner.translate(part, src, tgt)), strict=True)
            )
            insert(conn, system, pair, fresh, self.inner.identity())
            found.update(fresh)
        counts = self._stats.setdefault(pair, {"hits": 0, "misses": 0})
        missed = set(missing)
        n_missed = sum(1 for t in texts if t in missed)
        counts["misses"] += n_missed
        counts["hits"] += len(texts) - n_missed
        return [found[t] for t in texts]

    def identity(self) -> dict[str, Any]:
        return self.inner.identity()

    def stats(self) -> dict[str, dict[str, int]]:
        return {pair: dict(counts) for pair, counts in self._stats.items()}

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def with_cache(translator: Translator, enabled: bool, cache_dir: str | Path | None) -> Translator:
    """The translator behind a cache, unless caching is off or the backend opts out (files)."""
    if not enabled or not cache_dir or getattr(translator, "cacheable", True) is False:
        return translator
    return CachedTranslator(translator, cache_dir)
