"""COMET segment scores remembered between runs, keyed by (checkpoint sha256, src, mt, ref).

A COMET segment score is a pure function of the checkpoint and the three texts (the managed
environment pins the package versions), so a rerun, a second metric pass or a gate reads it back
instead of running the model. One sqlite file in the cache dir (``comet.sqlite``) holds the scores
and the checkpoints' sha256 (keyed by path, size and mtime, so a 2 GB checkpoint is hashed once).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mtharness.core import MtharnessError

CACHE_FILE = "comet.sqlite"
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS scores (key TEXT PRIMARY KEY, score REAL NOT NULL)",
    "CREATE TABLE IF NOT EXISTS checkpoints (path TEXT, size INTEGER, mtime_ns INTEGER, sha256 TEXT, "
    "PRIMARY KEY (path, size, mtime_ns))",
    # xCOMET's error spans of a segment (JSON), under the same key as its score
    "CREATE TABLE IF NOT EXISTS spans (key TEXT PRIMARY KEY, spans TEXT NOT NULL)",
)


def segment_key(checkpoint_sha: str, src: str, mt: str, ref: str | None) -> str:
    """One digest per (checkpoint, src, mt, ref); JSON framing keeps ('a b', 'c') apart from ('a', 'b c')."""
    return hashlib.sha256(json.dumps([checkpoint_sha, src, mt, ref]).encode("utf-8")).hexdigest()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class CometCache:
    """The sqlite cache; ``folder=None`` keeps everything in memory (cache.enabled=false)."""

    def __init__(self, folder: str | Path | None) -> None:
        target = ":memory:"
        if folder is not None:
            Path(folder).mkdir(parents=True, exist_ok=True)
            target = str(Path(folder) / CACHE_FILE)
        try:
            self.db = sqlite3.connect(target, timeout=60)
            if folder is not None:
                self.db.execute("PRAGMA journal_mode=WAL")
            for statement in _SCHEMA:
                self.db.execute(statement)
            self.db.commit()
        except sqlite3.DatabaseError as exc:
            raise MtharnessError(f"COMET cache {target}: {exc} (delete the file to start afresh)") from None
        self.path = None if folder is None else Path(target)

    def get_many(self, keys: Sequence[str]) -> dict[str, float]:
        found: dict[str, float] = {}
        unique = list(dict.fromkeys(keys))
        for lo in range(0, len(unique), 500):  # sqlite's bound-parameter limit
            part = unique[lo : lo + 500]
            marks = ",".join("?" * len(part))
            rows = self.db.execute(f"SELECT key, score FROM scores WHERE key IN ({marks})", part)
            found.update({k: float(s) for k, s in rows})
        return found

    def put_many(self, items: dict[str, float]) -> None:
        with self.db:
            self.db.executemany("INSERT OR REPLACE INTO scores VALUES (?, ?)", list(items.items()))

    def get_spans(self, keys: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        """The stored error spans of ``keys`` (those that have them), exactly as they were put."""
        found: dict[str, list[dict[str, Any]]] = {}
        unique = list(dict.fromkeys(keys))
        for lo in range(0, len(unique), 500):
            part = unique[lo : lo + 500]
            marks = ",".join("?" * len(part))
            rows = self.db.execute(f"SELECT key, spans FROM spans WHERE key IN ({marks})", part)
            found.update({k: json.loads(v) for k, v in rows})
        return found

    def put_spans(self, items: dict[str, list[dict[str, Any]]]) -> None:
        rows = [(k, json.dumps(v, ensure_ascii=False)) for k, v in items.items()]
        with self.db:
            self.db.executemany("INSERT OR REPLACE INTO spans VALUES (?, ?)", rows)

    def checkpoint_sha256(self, path: Path) -> str:
        """sha256 of a checkpoint file, computed once per (path, size, mtime)."""
        st = path.stat()
        key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
        row = self.db.execute(
            "SELECT sha256 FROM checkpoints WHERE path=? AND size=? AND mtime_ns=?", key
        ).fetchone()
        if row:
            return str(row[0])
        sha = file_sha256(path)
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO checkpoints VALUES (?, ?, ?, ?)", (*key, sha))
        return sha

    def close(self) -> None:
        self.db.close()
