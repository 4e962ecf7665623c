"""One run's segments, paged from disk: segments.jsonl is never loaded whole.

API (plain library, no web imports)::

    store = SegmentStore(index)                    # index: a refreshed serve.index.RunIndex
    page = store.page(run_id, SegmentQuery(direction="forward", metric="chrF2", text="rain",
                                           score_max=50, compare="0/other-run", sort="diff",
                                           offset=0, limit=50))
    page.rows[0].segment, .score, .other, .other_score, .diff    # SegmentRow
    page.total, page.metrics, page.higher_is_better
    store.segment(run_id, 3)                        # one row of segments.jsonl (0-based), as stored
    word_diff("the cat sat", "the dog sat")         # [("equal", "the "), ("delete", "cat"), ...]

The first ``page`` of a run indexes its segments.jsonl into the run index's SQLite file (one pass,
streamed): each line's byte offset and length, its texts casefolded for search (every string of the
row: source, references, forward, round_trip, pivot/back texts) and every numeric segment score
(``scores.<direction>.<score name>``). It is indexed again when the file's (mtime_ns, size)
changes. A page reads only its own rows, by seeking to their offsets; rows come back exactly as
stored (``spans.<direction>.<score name>`` error spans included).

``SegmentQuery``: ``direction`` (``forward`` | ``round_trip``) picks whose segment scores
``metric`` means; ``text`` (words that must all occur, case-insensitive); ``score_min`` /
``score_max`` on ``metric``; ``compare`` another run id on the same test set (same content hash
and number of segments, else MtharnessError) whose row and score come with each row, with
``diff`` = this run's score minus the other's, filtered by ``diff_min`` / ``diff_max``; ``sort``:
``index`` | ``score`` | ``diff`` | ``absdiff`` (``descending`` flips it; segments without the value
last); ``offset`` / ``limit`` (1..``MAX_LIMIT``). Indices are 0-based line numbers. Anything
wrong (unknown run, no segments.jsonl, a line that is not a JSON object, an unknown metric, a
compare run on another test set) is one MtharnessError line.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mtharness.core import DIRECTIONS, MtharnessError
from mtharness.run.reader import SEGMENTS_FILE
from mtharness.serve.diff import word_diff
from mtharness.serve.index import RunIndex
from mtharness.serve.query import like_pattern

__all__ = ["SegmentPage", "SegmentQuery", "SegmentRow", "SegmentStore", "word_diff"]

MAX_LIMIT = 500
BATCH = 2000  # rows per insert while indexing: bounded memory on a 100,000-segment file
SORTS = ("index", "score", "diff", "absdiff")


@dataclass(frozen=True)
class SegmentQuery:
    direction: str = "forward"
    metric: str | None = None
    text: str = ""
    score_min: float | None = None
    score_max: float | None = None
    compare: str | None = None
    diff_min: float | None = None
    diff_max: float | None = None
    sort: str = "index"
    descending: bool = False
    offset: int = 0
    limit: int = 50


@dataclass(frozen=True)
class SegmentRow:
    index: int
    segment: dict[str, Any]
    score: float | None = None
    other: dict[str, Any] | None = None
    other_score: float | None = None
    diff: float | None = None


@dataclass(frozen=True)
class SegmentPage:
    run_id: str
    rows: list[SegmentRow]
    total: int  # segments matching the filters
    n_segments: int  # all segments of the run
    offset: int
    limit: int
    direction: str
    metric: str | None
    higher_is_better: bool | None  # the metric's, from the run's stored score; None when not stored
    metrics: list[str]  # the segment score names of ``direction``
    compare: str | None


def _texts(row: dict[str, Any]) -> str:
    """Every string of a row (top level, and in lists such as references), casefolded, for search."""
    parts: list[str] = []
    for key, value in row.items():
        if key in ("scores", "spans", "id"):
            continue
        if isinstance(value, str):
            parts.append(value)
        elif isinstance(value, list):
            parts += [v for v in value if isinstance(v, str)]
    return "\n".join(parts).casefold()


def _scores(row: dict[str, Any]) -> Iterator[tuple[str, str, float]]:
    node = row.get("scores")
    if not isinstance(node, dict):
        return
    for direction, per in node.items():
        if isinstance(per, dict):
            for name, value in per.items():
                if isinstance(value, int | float) and not isinstance(value, bool) and value == value:
                    yield str(direction), str(name), float(value)


class SegmentStore:
    """Pages of one run's segments through the run index's SQLite file (see the module docstring)."""

    def __init__(self, index: RunIndex) -> None:
        self.index = index

    def _file(self, run_id: str) -> Path:
        folder = self.index.resolve(run_id)
        if folder is None:
            raise MtharnessError(f"run {run_id!r}: not a run under the results folders")
        path = folder / SEGMENTS_FILE
        if not path.is_file():
            raise MtharnessError(f"run folder {folder}: no {SEGMENTS_FILE} (the run did not finish)")
        return path

    def ensure(self, run_id: str) -> int:
        """Index the run's segments.jsonl if it is new or changed; the number of segments."""
        path = self._file(run_id)
        st = path.stat()
        key = (st.st_mtime_ns, st.st_size)

        def action(conn: sqlite3.Connection) -> int:
            found = conn.execute(
                "SELECT mtime_ns, size, n FROM seg_files WHERE run_id = ?", (run_id,)
            ).fetchone()
            if found is not None and tuple(found[:2]) == key:
                return int(found[2])
            conn.execute("BEGIN IMMEDIATE")
            try:
                again = conn.execute(  # another process may have indexed it while we waited
                    "SELECT mtime_ns, size, n FROM seg_files WHERE run_id = ?", (run_id,)
                ).fetchone()
                if again is not None and tuple(again[:2]) == key:
                    conn.execute("COMMIT")
                    return int(again[2])
                n = _index_file(conn, run_id, path)
                conn.execute(
                    "INSERT OR REPLACE INTO seg_files (run_id, mtime_ns, size, n) VALUES (?,?,?,?)",
                    (run_id, *key, n),
                )
                conn.execute("COMMIT")
                return n
            except BaseException:
                conn.execute("ROLLBACK")
                raise

        return self.index.guarded(action)

    def segment(self, run_id: str, index: int) -> dict[str, Any]:
        """One row of the run's segments.jsonl (0-based), as stored."""
        self.ensure(run_id)
        found = self.index.guarded(
            lambda conn: conn.execute(
                "SELECT offset, length FROM segs WHERE run_id = ? AND idx = ?", (run_id, index)
            ).fetchone()
        )
        if found is None:
            raise MtharnessError(f"run {run_id!r}: no segment {index}")
        return _read_rows(self._file(run_id), [tuple(found)])[0]

    def metrics(self, run_id: str, direction: str) -> list[str]:
        """The segment score names stored for ``direction``."""
        self.ensure(run_id)
        found = self.index.guarded(
            lambda conn: conn.execute(
                "SELECT DISTINCT name FROM seg_scores WHERE run_id = ? AND direction = ? ORDER BY name",
                (run_id, direction),
            ).fetchall()
        )
        return [str(r[0]) for r in found]

    def page(self, run_id: str, q: SegmentQuery | None = None) -> SegmentPage:
        q = q or SegmentQuery()
        if q.direction not in DIRECTIONS:
            raise MtharnessError(f"direction {q.direction!r}: use forward or round_trip")
        if q.sort not in SORTS:
            raise MtharnessError(f"segment sort {q.sort!r}: use one of {', '.join(SORTS)}")
        n = self.ensure(run_id)
        metrics = self.metrics(run_id, q.direction)
        if q.metric is not None and q.metric not in metrics:
            shown = ", ".join(metrics) or "none"
            raise MtharnessError(
                f"run {run_id!r}: no {q.direction} segment scores for {q.metric!r} (it has: {shown})"
            )
        needs_metric = q.sort != "index" or q.score_min is not None or q.score_max is not None
        if q.metric is None and (needs_metric or q.compare):
            raise MtharnessError("pick a metric to sort, filter or compare segments by score")
        if q.compare is not None:
            self._check_comparable(run_id, n, q.compare)
        if q.sort in ("diff", "absdiff") and q.compare is None:
            raise MtharnessError(f"segment sort {q.sort!r} needs a run to compare with")
        offset, limit = max(0, int(q.offset)), min(max(1, int(q.limit)), MAX_LIMIT)
        found, total = self.index.guarded(lambda conn: _select(conn, run_id, q, offset, limit))
        rows = _read_rows(self._file(run_id), [(r[1], r[2]) for r in found])
        others: list[dict[str, Any] | None] = [None] * len(found)
        if q.compare is not None and found:
            spots = self.index.guarded(lambda conn: _spots(conn, q.compare or "", [r[0] for r in found]))
            got = _read_rows(self._file(q.compare), [spots[r[0]] for r in found])
            others = list(got)
        out = [
            SegmentRow(r[0], row, r[3], other, r[4], None if r[3] is None or r[4] is None else r[3] - r[4])
            for r, row, other in zip(found, rows, others, strict=True)
        ]
        info = self.index.get(run_id) or {}
        cell = (info.get("scores") or {}).get(q.direction, {}).get(q.metric or "")
        hib = None if cell is None else bool(cell["higher_is_better"])
        return SegmentPage(
            run_id, out, total, n, offset, limit, q.direction, q.metric, hib, metrics, q.compare
        )

    def _check_comparable(self, run_id: str, n: int, other: str) -> None:
        mine, theirs = self.index.get(run_id) or {}, self.index.get(other)
        if theirs is None:
            raise MtharnessError(f"run {other!r}: not a run under the results folders")
        n_other = self.ensure(other)
        if mine.get("content_hash") != theirs.get("content_hash") or n != n_other:
            raise MtharnessError(
                f"runs {run_id!r} and {other!r} are not on the same test set "
                f"({mine.get('dataset')} with {n} segments vs {theirs.get('dataset')} with {n_other}): "
                "compare segments of runs on the same data"
            )


def _index_file(conn: sqlite3.Connection, run_id: str, path: Path) -> int:
    conn.execute("DELETE FROM segs WHERE run_id = ?", (run_id,))
    conn.execute("DELETE FROM seg_scores WHERE run_id = ?", (run_id,))
    segs: list[tuple[Any, ...]] = []
    scores: list[tuple[Any, ...]] = []
    idx = offset = 0
    with path.open("rb") as fh:
        for line_no, raw in enumerate(fh, 1):
            length = len(raw)
            if raw.strip():
                try:
                    row = json.loads(raw)
                except (ValueError, UnicodeDecodeError) as exc:
                    raise MtharnessError(
                        f"segments file {path}, line {line_no}: not valid JSON ({exc})"
                    ) from None
                if not isinstance(row, dict):
                    raise MtharnessError(f"segments file {path}, line {line_no}: expected a JSON object")
                segs.append((run_id, idx, offset, length, _texts(row)))
                scores += [(run_id, d, name, idx, v) for d, name, v in _scores(row)]
                idx += 1
            offset += length
            if len(segs) >= BATCH:
                _flush(conn, segs, scores)
    _flush(conn, segs, scores)
    return idx


def _flush(conn: sqlite3.Connection, segs: list[tuple[Any, ...]], scores: list[tuple[Any, ...]]) -> None:
    conn.executemany("INSERT INTO segs (run_id, idx, offset, length, text) VALUES (?,?,?,?,?)", segs)
    conn.executemany(
        "INSERT OR REPLACE INTO seg_scores (run_id, direction, name, idx, score) VALUES (?,?,?,?,?)", scores
    )
    segs.clear()
    scores.clear()


def _select(
    conn: sqlite3.Connection, run_id: str, q: SegmentQuery, offset: int, limit: int
) -> tuple[list[tuple[Any, ...]], int]:
    """(idx, offset, length, score, other score) of the page's rows, and the count matching."""
    args: list[Any] = [q.direction, q.metric or "", q.compare or "", q.direction, q.metric or "", run_id]
    sql = (
        "FROM segs g LEFT JOIN seg_scores a ON a.run_id = g.run_id AND a.direction = ? AND a.name = ?"
        " AND a.idx = g.idx LEFT JOIN seg_scores b ON b.run_id = ? AND b.direction = ? AND b.name = ?"
        " AND b.idx = g.idx WHERE g.run_id = ?"
    )
    for word in q.text.casefold().split():
        sql += " AND g.text LIKE ? ESCAPE '\\'"
        args.append(like_pattern(word))
    for bound, op, expr in (
        (q.score_min, ">=", "a.score"),
        (q.score_max, "<=", "a.score"),
        (q.diff_min, ">=", "(a.score - b.score)"),
        (q.diff_max, "<=", "(a.score - b.score)"),
    ):
        if bound is not None:
            sql += f" AND {expr} {op} ?"
            args.append(float(bound))
    total = conn.execute(f"SELECT COUNT(*) {sql}", args).fetchone()[0]
    value = {
        "index": "g.idx",
        "score": "a.score",
        "diff": "(a.score - b.score)",
        "absdiff": "abs(a.score - b.score)",
    }
    direction = "DESC" if q.descending else "ASC"
    order = f"({value[q.sort]} IS NULL), {value[q.sort]} {direction}, g.idx"
    found = conn.execute(
        f"SELECT g.idx, g.offset, g.length, a.score, b.score {sql} ORDER BY {order} LIMIT ? OFFSET ?",
        [*args, limit, offset],
    ).fetchall()
    return [tuple(r) for r in found], int(total)


def _spots(conn: sqlite3.Connection, run_id: str, indices: list[int]) -> dict[int, tuple[int, int]]:
    found = conn.execute(
        f"SELECT idx, offset, length FROM segs WHERE run_id = ? AND idx IN ({','.join('?' * len(indices))})",
        [run_id, *indices],
    ).fetchall()
    return {int(i): (int(o), int(n)) for i, o, n in found}


def _read_rows(path: Path, spots: list[tuple[int, int]]) -> list[dict[str, Any]]:
    out = []
    with path.open("rb") as fh:
        for offset, length in spots:
            fh.seek(offset)
            raw = fh.read(length)
            try:
                row = json.loads(raw)
            except ValueError:
                row = None
            if not isinstance(row, dict):
                raise MtharnessError(f"segments file {path}: changed while being read; reload the page")
            out.append(row)
    return out
