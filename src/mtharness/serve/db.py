"""The SQLite file behind the run index and the segment store: where it lives, opening it, rebuilding it.

One file holds both (tables ``runs``, ``run_scores``, ``seg_files``, ``segs``, ``seg_scores``), so
one refresh and one page share a connection. It is a cache of what the run folders say: anything
wrong with it (not SQLite, truncated, another schema version, other roots) is answered by starting
a fresh one, never by an error. WAL mode and a generous busy timeout let several processes (two
``mtharness serve`` on one folder, a refresh while a page is read) use it at once, as run/cache.py
does for the translation cache.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from collections.abc import Sequence
from pathlib import Path

from mtharness.core import MtharnessError
from mtharness.host import user_cache_dir
from mtharness.run.cache import retry_while_locked

INDEX_FILE = ".mtharness-index.sqlite"
SCHEMA_VERSION = 2
BUSY_TIMEOUT_MS = 120_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, root INTEGER NOT NULL, rel TEXT NOT NULL, path TEXT NOT NULL,
    mtime_ns INTEGER NOT NULL, size INTEGER NOT NULL,
    status TEXT NOT NULL, reason TEXT NOT NULL DEFAULT '',
    dataset TEXT, pair TEXT, content_hash TEXT, grp TEXT, translator TEXT, created TEXT,
    identity TEXT, system TEXT NOT NULL, n_segments INTEGER, copy_rate REAL, off_target_rate REAL, cost REAL,
    search TEXT NOT NULL DEFAULT '', row TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_created ON runs (created);
CREATE TABLE IF NOT EXISTS run_scores (
    run_id TEXT NOT NULL, direction TEXT NOT NULL, name TEXT NOT NULL,
    score REAL NOT NULL, half_width REAL, hib INTEGER NOT NULL,
    PRIMARY KEY (run_id, direction, name)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS run_scores_by_name ON run_scores (name, direction, score);
CREATE TABLE IF NOT EXISTS seg_files (
    run_id TEXT PRIMARY KEY, mtime_ns INTEGER NOT NULL, size INTEGER NOT NULL, n INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS segs (
    run_id TEXT NOT NULL, idx INTEGER NOT NULL, offset INTEGER NOT NULL, length INTEGER NOT NULL,
    text TEXT NOT NULL,
    PRIMARY KEY (run_id, idx)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS seg_scores (
    run_id TEXT NOT NULL, direction TEXT NOT NULL, name TEXT NOT NULL, idx INTEGER NOT NULL,
    score REAL NOT NULL,
    PRIMARY KEY (run_id, direction, name, idx)
) WITHOUT ROWID;
"""


def roots_key(roots: Sequence[Path]) -> str:
    """The resolved roots, in order, as text: an index is valid only for the roots it was built for."""
    return json.dumps([str(r.resolve()) for r in roots])


def default_db_path(roots: Sequence[Path]) -> Path:
    """``<first root>/.mtharness-index.sqlite`` where that folder is writable; otherwise a per-user
    cache file named by the roots' resolved paths (a read-only results folder is still browsable)."""
    first = roots[0]
    candidate = first / INDEX_FILE
    usable = first.is_dir() and os.access(first, os.W_OK | os.X_OK)
    if usable and (not candidate.exists() or (candidate.is_file() and not candidate.is_symlink())):
        return candidate
    digest = hashlib.sha256(roots_key(roots).encode()).hexdigest()[:16]
    return user_cache_dir() / "serve" / f"index-{digest}.sqlite"


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)

    def setup() -> None:
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.executescript(_SCHEMA)

    try:  # two processes creating the file at once: retried as the translation cache does
        retry_while_locked(setup, BUSY_TIMEOUT_MS / 1000)
    except sqlite3.Error:
        conn.close()
        raise
    return conn


def _valid(conn: sqlite3.Connection, roots: str) -> bool:
    found = dict(conn.execute("SELECT key, value FROM meta").fetchall())
    if not found:  # a new file: claim it (another process may have done so first: same values)
        conn.execute(
            "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?), ('roots', ?)",
            (str(SCHEMA_VERSION), roots),
        )
        found = dict(conn.execute("SELECT key, value FROM meta").fetchall())
    return found.get("schema_version") == str(SCHEMA_VERSION) and found.get("roots") == roots


def remove_index_file(path: Path) -> None:
    """Remove an index file and its WAL companions (a stale WAL must never be replayed into a new file)."""
    for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if p.is_symlink() or (p.exists() and not p.is_file()):
            raise MtharnessError(f"index file {p}: not a regular file; pass another db_path")
        p.unlink(missing_ok=True)


def open_index(path: Path, roots: Sequence[Path]) -> tuple[sqlite3.Connection, bool]:
    """(connection, rebuilt): the index file opened and checked; a damaged one or one of another
    schema or other roots is removed and started afresh (``rebuilt`` True)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise MtharnessError(f"index file {path}: cannot create its folder ({exc.strerror})") from None
    key = roots_key(roots)
    conn = None
    try:
        conn = _connect(path)
        if _valid(conn, key):
            return conn, False
    except sqlite3.DatabaseError:
        pass  # not SQLite, truncated, malformed: rebuilt below
    if conn is not None:
        conn.close()
    return reset_index(path, roots), True


def reset_index(path: Path, roots: Sequence[Path]) -> sqlite3.Connection:
    """A fresh, empty index file at ``path`` (whatever was there is removed)."""
    remove_index_file(path)
    conn = _connect(path)
    if not _valid(conn, roots_key(roots)):
        conn.close()
        raise MtharnessError(f"index file {path}: written by another process for other roots; retry")
    return conn
