"""The runs page's query over the run index: filters, sort, fold, server-side paging, facets.

``RunQuery`` fields (every one optional; a view's URL can carry them one to one):

- ``dataset``, ``pair``, ``translator``, ``status`` (``ok`` | ``damaged``), ``metric`` (runs that
  have this score name in any direction): a value or a sequence of values (any of them matches).
- ``date_from`` / ``date_to``: ISO dates or datetimes compared with the run's ``created``
  (``2026-12-04`` .. ``2026-12-04`` is that whole day; ``date_to`` is inclusive at its precision).
- ``text``: words that must all occur (case-insensitive) in the dataset, pair, translator name and
  settings, run path or damage reason.
- ``run_ids``: only these runs (a compare selection).
- ``sort``: a column (``created``, ``dataset``, ``pair``, ``translator``, ``status``, ``n_segments``,
  ``copy_rate``, ``off_target_rate``, ``cost``, ``run_id``) or a score: ``score:NAME`` (forward),
  ``rt:NAME`` (round trip), ``ci:NAME`` / ``rtci:NAME`` (the CI's half-width). ``descending`` None
  means the natural order: best first for a score (as its ``higher_is_better`` says; TER lowest
  first), narrowest CI first, newest first for ``created``, ascending otherwise. Runs without the
  value come last either way; ties go newest first, then by run id.
- ``fold``: only the newest run of each leaderboard system (group + identity, as
  ``mtharness leaderboard`` without ``--all``); each row's ``older`` says how many runs it hides.
  Folding applies to the runs that pass the filters. Damaged runs never fold.
- ``offset`` / ``limit`` (1..``MAX_LIMIT``).

``RunPage``: ``rows`` (the stored rows of serve.rows plus ``older``), ``total`` (rows matching,
after folding), ``offset``, ``limit``, ``sort``, ``descending`` (the order applied), ``facets``
(``Facets``: value -> run count for dataset, pair, translator, metric, status, over the whole
index, and the ``created`` range), for the filter dropdowns.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from mtharness.core import MtharnessError

MAX_LIMIT = 1000
COLUMNS = {
    "created": "r.created",
    "dataset": "r.dataset",
    "pair": "r.pair",
    "translator": "r.translator",
    "status": "r.status",
    "n_segments": "r.n_segments",
    "copy_rate": "r.copy_rate",
    "off_target_rate": "r.off_target_rate",
    "cost": "r.cost",
    "run_id": "r.run_id",
}
SCORE_SORTS = {
    "score": ("forward", "score"),
    "rt": ("round_trip", "score"),
    "ci": ("forward", "half_width"),
    "rtci": ("round_trip", "half_width"),
}
Values = str | Sequence[str] | None


@dataclass(frozen=True)
class RunQuery:
    dataset: Values = None
    pair: Values = None
    translator: Values = None
    metric: Values = None
    status: Values = None
    date_from: str | None = None
    date_to: str | None = None
    text: str = ""
    run_ids: Sequence[str] | None = None
    sort: str = "created"
    descending: bool | None = None
    fold: bool = False
    offset: int = 0
    limit: int = 50


@dataclass(frozen=True)
class Facets:
    dataset: dict[str, int] = field(default_factory=dict)
    pair: dict[str, int] = field(default_factory=dict)
    translator: dict[str, int] = field(default_factory=dict)
    metric: dict[str, int] = field(default_factory=dict)
    status: dict[str, int] = field(default_factory=dict)
    created_min: str | None = None
    created_max: str | None = None


@dataclass(frozen=True)
class RunPage:
    rows: list[dict[str, Any]]
    total: int
    offset: int
    limit: int
    sort: str
    descending: bool
    facets: Facets


def _values(v: Values) -> list[str]:
    if v is None:
        return []
    return [v] if isinstance(v, str) else [str(x) for x in v]


def like_pattern(word: str) -> str:
    """``%word%`` for LIKE ... ESCAPE '\\', the word's own % _ and \\ taken literally."""
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _where(q: RunQuery) -> tuple[list[str], list[Any]]:
    clauses: list[str] = []
    args: list[Any] = []
    for column, values in (
        ("r.dataset", q.dataset),
        ("r.pair", q.pair),
        ("r.translator", q.translator),
        ("r.status", q.status),
    ):
        vals = _values(values)
        if vals:
            clauses.append(f"{column} IN ({','.join('?' * len(vals))})")
            args += vals
    metrics = _values(q.metric)
    if metrics:
        clauses.append(
            "EXISTS (SELECT 1 FROM run_scores m WHERE m.run_id = r.run_id"
            f" AND m.name IN ({','.join('?' * len(metrics))}))"
        )
        args += metrics
    if q.date_from:
        clauses.append("r.created >= ?")
        args.append(q.date_from)
    if q.date_to:
        clauses.append("r.created != '' AND substr(r.created, 1, ?) <= ?")
        args += [len(q.date_to), q.date_to]
    for word in q.text.casefold().split():
        clauses.append("r.search LIKE ? ESCAPE '\\'")
        args.append(like_pattern(word))
    if q.run_ids is not None:
        ids = list(q.run_ids)
        clauses.append(f"r.run_id IN ({','.join('?' * len(ids))})" if ids else "0")
        args += ids
    return clauses, args


def _order(conn: sqlite3.Connection, q: RunQuery) -> tuple[str, str, list[Any], bool]:
    """(join, value expression, join args, descending) for the requested sort."""
    prefix, sep, name = q.sort.partition(":")
    if sep and prefix in SCORE_SORTS and name:
        direction, column = SCORE_SORTS[prefix]
        join = "LEFT JOIN run_scores s ON s.run_id = r.run_id AND s.direction = ? AND s.name = ?"
        if q.descending is not None:
            desc = q.descending
        elif column == "half_width":
            desc = False
        else:
            found = conn.execute(
                "SELECT hib FROM run_scores WHERE name = ? AND direction = ? LIMIT 1", (name, direction)
            ).fetchone()
            desc = True if found is None else bool(found[0])
        return join, f"s.{column}", [direction, name], desc
    if q.sort in COLUMNS:
        desc = q.descending if q.descending is not None else q.sort == "created"
        return "", COLUMNS[q.sort], [], desc
    raise MtharnessError(
        f"sort {q.sort!r}: use one of {', '.join(COLUMNS)} or score:NAME, rt:NAME, ci:NAME, rtci:NAME"
    )


def run_query(
    conn: sqlite3.Connection, q: RunQuery, facets_of: Callable[[], Facets] | None = None
) -> RunPage:
    """One page of runs; ``facets_of`` gives the facets (the index caches them between refreshes)."""
    offset = max(0, int(q.offset))
    limit = min(max(1, int(q.limit)), MAX_LIMIT)
    clauses, args = _where(q)
    join, value, join_args, desc = _order(conn, q)
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    if q.fold:
        window = (
            "ROW_NUMBER() OVER (PARTITION BY r.system ORDER BY r.created DESC, r.path DESC) AS rn, "
            "COUNT(*) OVER (PARTITION BY r.system) - 1 AS older"
        )
    else:
        window = "1 AS rn, 0 AS older"
    # the candidates carry only what sorting needs; the stored rows are read for the page alone
    base = f"WITH f AS (SELECT r.run_id, r.created, {value} AS v, {window} FROM runs r {join} {where}) "
    params = [*join_args, *args]
    total = conn.execute(base + "SELECT COUNT(*) FROM f WHERE rn = 1", params).fetchone()[0]
    direction = "DESC" if desc else "ASC"
    found = conn.execute(
        base + f"SELECT run_id, older FROM f WHERE rn = 1 ORDER BY (v IS NULL), v {direction}, "
        "created DESC, run_id LIMIT ? OFFSET ?",
        [*params, limit, offset],
    ).fetchall()
    ids = [r[0] for r in found]
    stored = dict(
        conn.execute(f"SELECT run_id, row FROM runs WHERE run_id IN ({','.join('?' * len(ids))})", ids)
    )
    rows = []
    for run_id, older in found:
        row = json.loads(stored[run_id])
        row["older"] = older
        rows.append(row)
    return RunPage(rows, total, offset, limit, q.sort, desc, facets_of() if facets_of else facets(conn))


def facets(conn: sqlite3.Connection) -> Facets:
    """Distinct values with run counts over the whole index (the filter dropdowns)."""

    def counts(column: str) -> dict[str, int]:
        found = conn.execute(
            f"SELECT {column}, COUNT(*) FROM runs WHERE {column} IS NOT NULL GROUP BY {column} ORDER BY {column}"
        )
        return {str(k): int(n) for k, n in found}

    metric = {
        str(k): int(n)
        for k, n in conn.execute(
            "SELECT name, COUNT(DISTINCT run_id) FROM run_scores GROUP BY name ORDER BY name"
        )
    }
    low, high = conn.execute("SELECT MIN(created), MAX(created) FROM runs WHERE created != ''").fetchone()
    return Facets(
        counts("dataset"), counts("pair"), counts("translator"), metric, counts("status"), low, high
    )
