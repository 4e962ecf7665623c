"""The Runs page: the run index (serve.index, serve.query) queried with the page's URL state.

Query string: ``q`` (free text), ``dataset``, ``pair``, ``translator``, ``metric``, ``status``
(ok / damaged), ``from`` / ``to`` (dates, ``2026-12-04``), ``sort`` (a column or ``score:NAME``,
``rt:NAME``, ``ci:NAME``), ``desc`` (1 / 0; absent: the natural order, best first for a score),
``all`` (1: every run; default: older runs of one system folded under the newest, as the
leaderboard does), ``page`` and ``per`` (rows per page).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mtharness.serve.index import RunIndex
from mtharness.serve.query import RunQuery
from mtharness.serve.urlstate import Params, integer, num
from mtharness.validity.notes import COPY_WARN_RATE, OFF_TARGET_WARN_RATE

PER_PAGE = 50
FILTERS = ("dataset", "pair", "translator", "metric", "status")


class Indexes:
    """One RunIndex (one SQLite connection) per server thread: a connection belongs to the thread that
    opened it. Refreshes are serialised within the process (SQLite serialises them across processes)."""

    def __init__(self, roots: Sequence[Path]) -> None:
        self.roots = list(roots)
        self._local = threading.local()
        self._refresh = threading.Lock()

    def get(self) -> RunIndex:
        index = getattr(self._local, "index", None)
        if index is None:
            index = self._local.index = RunIndex(self.roots)
        return index

    def refresh(self) -> RunIndex:
        index = self.get()
        with self._refresh:
            index.refresh()
        return index


def query_of(state: Params) -> tuple[RunQuery, int, int]:
    per = integer(state, "per", PER_PAGE, 1, 1000)
    page = integer(state, "page", 1, 1)
    desc = state.get("desc")
    query = RunQuery(
        **{k: state.get(k) or None for k in FILTERS},
        date_from=state.get("from") or None,
        date_to=state.get("to") or None,
        text=str(state.get("q") or ""),
        sort=str(state.get("sort") or "created"),
        descending=None if desc in (None, "") else desc == "1",
        fold=state.get("all") != "1",
        offset=(page - 1) * per,
        limit=per,
    )
    return query, page, per


def _columns(rows: list[dict[str, Any]]) -> list[dict[str, str]]:
    """The score columns of the rows shown: forward first, then round trip, in first-seen order."""
    seen: dict[tuple[str, str], None] = {}
    for direction in ("forward", "round_trip"):
        for row in rows:
            for name in (row.get("scores") or {}).get(direction) or {}:
                seen.setdefault((direction, name), None)
    return [
        {
            "direction": d,
            "name": n,
            "label": n if d == "forward" else f"{n} (round trip)",
            "sort": f"score:{n}" if d == "forward" else f"rt:{n}",
        }
        for d, n in seen
    ]


def _flags(row: dict[str, Any]) -> list[tuple[str, str]]:
    out = []
    copy, off = row.get("copy_rate"), row.get("off_target_rate")
    if isinstance(copy, int | float) and copy > COPY_WARN_RATE:
        out.append(("copy", f"copy rate {num(copy, 3)} above {COPY_WARN_RATE}"))
    if isinstance(off, int | float) and off > OFF_TARGET_WARN_RATE:
        out.append(("off-target", f"off-target rate {num(off, 3)} above {OFF_TARGET_WARN_RATE}"))
    return out


def runs_context(site: Any, state: Params) -> dict[str, Any]:
    query, page_no, per = query_of(state)
    result = site.indexes.refresh().query(query)
    columns = _columns(result.rows)
    rows = []
    for row in result.rows:
        cells: list[dict[str, Any] | None] = []
        for col in columns:
            cell = ((row.get("scores") or {}).get(col["direction"]) or {}).get(col["name"])
            if cell is None:
                cells.append(None)
                continue
            ci = cell.get("ci") or {}
            cells.append(
                {
                    "score": num(cell["score"], cell["precision"]),
                    "raw": cell["score"],
                    "half_width": num(ci.get("half_width"), cell["precision"]) if ci else "",
                    "signature": cell["signature"],
                }
            )
        rows.append({**row, "cells": cells, "flags": _flags(row)})
    pages = max(1, -(-result.total // per))
    return {
        "result": result,
        "rows": rows,
        "columns": columns,
        "page_no": page_no,
        "pages": pages,
        "filters": FILTERS,
        "facets": result.facets,
        "plain_columns": PLAIN_COLUMNS,
    }


# (label, sort key) of the columns that are not scores
PLAIN_COLUMNS = (
    ("run", "translator"),
    ("dataset", "dataset"),
    ("pair", "pair"),
    ("created", "created"),
    ("segments", "n_segments"),
)
