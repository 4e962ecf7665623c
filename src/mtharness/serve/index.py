"""The run index: every run folder under the results dirs, in SQLite, refreshed incrementally.

API (plain library, no web imports; mtharness.serve's web app is its caller)::

    index = RunIndex([Path("results")])          # db_path: default <first root>/.mtharness-index.sqlite
    counts = index.refresh()                       # RefreshCounts(added, updated, removed, damaged, ...)
    page = index.query(RunQuery(dataset="sample", sort="score:chrF2", fold=True, limit=50))
    page.rows, page.total, page.facets             # rows: plain dicts (serve.rows documents the keys)
    index.get("0/2026-12-04/18-58-54")             # one row, or None
    index.resolve("0/2026-12-04/18-58-54")         # the run folder (a Path under a root) or None
    index.run_file(run_id, "summary.md")           # a file inside a run folder, or None
    index.close()

Run ids are ``<root number>/<path relative to that root>`` (``0/sweep/3``; the root itself is
``0``): stable across refreshes and URL-safe once each part is quoted. ``resolve`` and
``run_file`` refuse anything that could leave a root: ``..``, ``.``, empty parts, absolute ids,
backslashes, NUL, unknown roots, and symlinks whose target lies outside the root; they answer None.

``refresh()`` walks the roots (symlinked folders are not followed), finds every folder with a
scores.json (or a segments.jsonl without one: a half-written run), and reads again only those whose
scores.json (mtime_ns, size) changed, with the one reader (run/reader.py). Removed folders are
dropped. A folder the reader refuses is indexed with status ``damaged`` and the reader's one-line
reason; nothing raises for a bad run. A missing or damaged index file (not SQLite, truncated,
another schema version or other roots) is rebuilt (``RefreshCounts.rebuilt``). Two processes may
refresh at once (WAL, busy timeout; each applies its changes in one transaction).
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, TypeVar

from mtharness.core import MtharnessError
from mtharness.run.reader import SCORES_FILE, SEGMENTS_FILE
from mtharness.serve import db
from mtharness.serve.query import Facets, RunPage, RunQuery, facets, run_query
from mtharness.serve.rows import ci_files_key, load_ci_tables, read_row, search_text
from mtharness.textio import finite_json

T = TypeVar("T")


@dataclass(frozen=True)
class RefreshCounts:
    """What one refresh did: runs added, updated (scores.json changed), removed; ``damaged``: damaged
    runs in the index afterwards; ``rebuilt``: the index file was missing a valid index and was
    started afresh; ``total``: runs indexed; ``seconds``: the refresh's wall time."""

    added: int
    updated: int
    removed: int
    damaged: int
    rebuilt: bool
    total: int
    seconds: float


def run_id_of(root: int, rel: str) -> str:
    return str(root) if rel in ("", ".") else f"{root}/{rel}"


class RunIndex:
    """SQLite index over the run folders below ``roots`` (see the module docstring)."""

    def __init__(self, roots: Sequence[str | Path], db_path: str | Path | None = None) -> None:
        if not roots:
            raise MtharnessError("no results folder given: pass at least one folder of runs")
        self.roots = [Path(r) for r in roots]
        for root in self.roots:
            if not root.is_dir():
                raise MtharnessError(f"results folder {root}: not a directory")
        self._resolved = [r.resolve() for r in self.roots]
        self.db_path = Path(db_path) if db_path else db.default_db_path(self.roots)
        self._conn: sqlite3.Connection | None = None
        self._inode: int | None = None
        self._rebuilt = False
        self._facet_cache: tuple[str | None, Facets] | None = None

    # -- the connection ---------------------------------------------------------------------------

    @property
    def conn(self) -> sqlite3.Connection:
        """The open index connection; reopened when another process replaced the file."""
        try:
            inode: int | None = self.db_path.stat().st_ino
        except OSError:
            inode = None
        if self._conn is not None and inode != self._inode:
            self._conn.close()
            self._conn = None
        if self._conn is None:
            self._conn, rebuilt = db.open_index(self.db_path, self.roots)
            self._rebuilt = self._rebuilt or rebuilt
            self._inode = self.db_path.stat().st_ino
        return self._conn

    def guarded(self, action: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``action``; if the index file turns out damaged midway, start a fresh one and retry once."""
        try:
            return action(self.conn)
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
                raise MtharnessError(f"index file {self.db_path}: busy for too long ({exc}); retry") from None
            self.close()
            self._conn = db.reset_index(self.db_path, self.roots)
            self._inode = self.db_path.stat().st_ino
            self._rebuilt = True
            if action is not self._refresh_in:
                self._refresh_in(self._conn)
            return action(self._conn)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> RunIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- refresh ----------------------------------------------------------------------------------

    def discover(self) -> dict[str, tuple[int, str, Path, int, int]]:
        """run_id -> (root, rel, folder, mtime_ns, size) of every candidate run folder on disk.

        The key is scores.json's (mtime_ns, size); a folder with segments.jsonl but no scores.json
        (a run that did not finish) is keyed by the folder's mtime with size -1."""
        found: dict[str, tuple[int, str, Path, int, int]] = {}
        for i, root in enumerate(self.roots):
            for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
                dirnames.sort()
                if SCORES_FILE not in filenames and SEGMENTS_FILE not in filenames:
                    continue
                folder = Path(dirpath)
                rel = folder.relative_to(root).as_posix()
                try:
                    if SCORES_FILE in filenames:
                        st = (folder / SCORES_FILE).stat()
                        key = (st.st_mtime_ns, st.st_size)
                    else:
                        key = (folder.stat().st_mtime_ns, -1)
                except OSError:
                    key = (0, -2)  # a dangling scores.json link: read (and refused) as damaged
                found[run_id_of(i, rel)] = (i, rel, folder, *key)
        return found

    def refresh(self) -> RefreshCounts:
        """Bring the index up to date with the folders on disk (see the module docstring)."""
        started = time.monotonic()
        self._rebuilt = False
        counts = self.guarded(self._refresh_in)
        return RefreshCounts(**counts, rebuilt=self._rebuilt, seconds=time.monotonic() - started)

    def _refresh_in(self, conn: sqlite3.Connection) -> dict[str, Any]:
        on_disk = self.discover()
        ci_key = ci_files_key(self.roots)
        stale_cis = _meta(conn, "ci_files") != ci_key
        known = {r[0]: (r[1], r[2]) for r in conn.execute("SELECT run_id, mtime_ns, size FROM runs")}
        todo = [rid for rid, v in on_disk.items() if stale_cis or known.get(rid) != (v[3], v[4])]
        cis = load_ci_tables(self.roots) if todo else {}
        rows = []
        for rid in todo:
            root, rel, folder, mtime_ns, size = on_disk[rid]
            row = self._check_inside(read_row(rid, rel, folder, cis), folder, root)
            rows.append((rid, root, rel, mtime_ns, size, row))
        removed = [rid for rid in known if rid not in on_disk]
        conn.execute("BEGIN IMMEDIATE")
        try:
            for rid in removed:
                _delete_run(conn, rid)
            for rid, root, rel, mtime_ns, size, row in rows:
                _store_run(conn, rid, root, rel, mtime_ns, size, row)
            conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('ci_files', ?)", (ci_key,))
            if rows or removed:  # cached facets of every process are stale now
                conn.execute(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES ('generation', ?)",
                    (str(int(_meta(conn, "generation") or 0) + 1),),
                )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        added = sum(rid not in known for rid in todo)
        damaged = conn.execute("SELECT COUNT(*) FROM runs WHERE status = 'damaged'").fetchone()[0]
        total = conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
        return {
            "added": added,
            "updated": len(todo) - added if not stale_cis else sum(rid in known for rid in todo),
            "removed": len(removed),
            "damaged": damaged,
            "total": total,
        }

    def _check_inside(self, row: dict[str, Any], folder: Path, root: int) -> dict[str, Any]:
        """A scores.json that is a symlink leading outside its root is not served: damaged."""
        if row["status"] == "ok" and not _inside(folder / SCORES_FILE, self._resolved[root]):
            row.update(
                status="damaged", reason=f"run folder {folder}: scores.json leads outside {self.roots[root]}"
            )
        return row

    # -- reading ----------------------------------------------------------------------------------

    def query(self, q: RunQuery | None = None) -> RunPage:
        """One page of runs (filters, sort, fold, paging) with the total and the facets; see serve.query."""
        return self.guarded(lambda conn: run_query(conn, q or RunQuery(), lambda: self._facets(conn)))

    def _facets(self, conn: sqlite3.Connection) -> Facets:
        """The facets, computed again only after a refresh (of any process) changed the index."""
        generation = _meta(conn, "generation")
        if self._facet_cache is None or self._facet_cache[0] != generation:
            self._facet_cache = (generation, facets(conn))
        return self._facet_cache[1]

    def get(self, run_id: str) -> dict[str, Any] | None:
        """The indexed row of one run (serve.rows documents its keys), or None for an unknown id."""
        found = self.guarded(
            lambda conn: conn.execute("SELECT row FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        )
        return None if found is None else json.loads(found[0])

    def resolve(self, run_id: str) -> Path | None:
        """The folder of an indexed run, only when it lies under its root; None for anything else."""
        parts = _id_parts(run_id)
        if parts is None:
            return None
        root, rel = parts
        known = self.guarded(
            lambda conn: conn.execute("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        )
        if known is None:
            return None
        folder = self.roots[root] / rel if rel else self.roots[root]
        if not _inside(folder, self._resolved[root]) or not folder.is_dir():
            return None
        return folder

    def run_file(self, run_id: str, name: str) -> Path | None:
        """A regular file inside an indexed run folder (``summary.md``, ``.hydra/config.yaml``), only
        when it resolves inside that folder; None for traversal, links out, folders or missing files."""
        folder = self.resolve(run_id)
        if folder is None or not _safe_rel(name):
            return None
        path = folder / name
        if not _inside(path, folder.resolve()) or not path.is_file():
            return None
        return path


def _safe_rel(rel: str) -> bool:
    if not rel or "\\" in rel or "\x00" in rel or rel.startswith("/"):
        return False
    parts = PurePosixPath(rel).parts
    return all(p not in ("", ".", "..") for p in parts) and PurePosixPath(rel).as_posix() == rel


def _id_parts(run_id: str) -> tuple[int, str] | None:
    head, _, rel = str(run_id).partition("/")
    if not head.isdigit() or (head != "0" and head.startswith("0")):
        return None
    if rel and not _safe_rel(rel):
        return None
    return int(head), rel


def _inside(path: Path, root: Path) -> bool:
    try:
        return path.resolve().is_relative_to(root)
    except (OSError, RuntimeError):
        return False


def _meta(conn: sqlite3.Connection, key: str) -> str | None:
    found = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if found is None else str(found[0])


def _delete_run(conn: sqlite3.Connection, run_id: str) -> None:
    for table in ("runs", "run_scores", "seg_files", "segs", "seg_scores"):
        conn.execute(f"DELETE FROM {table} WHERE run_id = ?", (run_id,))


def _store_run(
    conn: sqlite3.Connection, run_id: str, root: int, rel: str, mtime_ns: int, size: int, row: dict[str, Any]
) -> None:
    _delete_run(conn, run_id)
    group = row.get("group")
    conn.execute(
        "INSERT INTO runs (run_id, root, rel, path, mtime_ns, size, status, reason, dataset, pair,"
        " content_hash, grp, translator, created, identity, system, n_segments, copy_rate,"
        " off_target_rate, cost, search, row) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (
            run_id, root, rel, row["path"], mtime_ns, size, row["status"], row["reason"],
            row["dataset"], row["pair"], row["content_hash"],
            None if group is None else "|".join(group),
            row["translator"], row["created"], row["identity"],
            # the leaderboard's system (group + identity) folds runs; a damaged run is its own
            run_id if group is None else f"{'|'.join(group)}|{row['identity']}",
            row["n_segments"],
            row["copy_rate"], row["off_target_rate"], row["cost"], search_text(row), _dumps(row),
        ),
    )  # fmt: skip
    conn.executemany(
        "INSERT INTO run_scores (run_id, direction, name, score, half_width, hib) VALUES (?,?,?,?,?,?)",
        [
            (run_id, d, n, c["score"], (c["ci"] or {}).get("half_width"), int(c["higher_is_better"]))
            for d, per in row["scores"].items()
            for n, c in per.items()
        ],
    )


def _dumps(row: dict[str, Any]) -> str:
    return json.dumps(finite_json(row), ensure_ascii=False, separators=(",", ":"), default=str)
