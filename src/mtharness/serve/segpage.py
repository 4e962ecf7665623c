"""The Segments page: one run's segments paged server-side (serve.segments.SegmentStore reads only
the rows shown), side by side with a second run's where one is picked, error spans marked, a word
diff between the two systems.

Query string: ``run`` (the run id), ``vs`` (a second run on the same test set), ``direction``
(forward / round_trip: whose segment scores ``metric`` means and which text the spans and the diff
are on), ``metric`` (default chrF2, else the first stored), ``q`` (words that must all occur),
``min`` / ``max`` (score range), ``dmin`` / ``dmax`` (this run's score minus the other's),
``sort`` (index, score, diff, absdiff), ``desc`` (1: descending), ``page``, ``per``.
"""

from __future__ import annotations

from typing import Any

from mtharness.core import MtharnessError
from mtharness.serve.segments import SegmentQuery, SegmentStore, word_diff
from mtharness.serve.spans import mark, spans_of
from mtharness.serve.urlstate import Params, choice, integer, num, number

PER_PAGE = 25
PREFERRED_METRIC = "chrF2"  # a segment-level score every run has (sacrebleu's sentence chrF)
DIRECTION_TITLES = {"forward": "forward", "round_trip": "round trip"}
KNOWN_TEXTS = ("id", "source", "references", "forward", "round_trip", "scores", "spans", "forward_lang")


def _store(site: Any, run_id: str) -> SegmentStore:
    """A store on this thread's index; refreshed first when the run is not indexed yet."""
    index = site.indexes.get()
    if index.get(run_id) is None:
        index = site.indexes.refresh()
    return SegmentStore(index)


def _query(state: Params, metrics: list[str]) -> tuple[SegmentQuery, int, int]:
    per = integer(state, "per", PER_PAGE, 1, 500)
    page = integer(state, "page", 1, 1)
    metric = state.get("metric") or (PREFERRED_METRIC if PREFERRED_METRIC in metrics else None)
    metric = metric or (metrics[0] if metrics else None)
    vs = state.get("vs") or None
    default_sort = "index"
    query = SegmentQuery(
        direction=choice(state, "direction", ("forward", "round_trip"), "forward"),
        metric=metric,
        text=str(state.get("q") or ""),
        score_min=number(state, "min"),
        score_max=number(state, "max"),
        compare=vs,
        diff_min=number(state, "dmin"),
        diff_max=number(state, "dmax"),
        sort=choice(state, "sort", ("index", "score", "diff", "absdiff"), default_sort),
        descending=state.get("desc") == "1",
        offset=(page - 1) * per,
        limit=per,
    )
    if vs is None and (query.diff_min is not None or query.diff_max is not None):
        raise MtharnessError("?dmin/?dmax: a score difference needs a second run (?vs=RUN)")
    return query, page, per


def _scores_line(row: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, value) of every segment score the row holds, forward first."""
    out = []
    for direction, per in (row.get("scores") or {}).items():
        if not isinstance(per, dict):
            continue
        for name, value in per.items():
            label = name if direction == "forward" else f"{name} (round trip)"
            out.append((label, num(value, 2) if isinstance(value, int | float) else str(value)))
    return out


def _other_texts(row: dict[str, Any]) -> list[tuple[str, str]]:
    """Texts a row holds beyond the known ones (a pivot, a way-back system's text, ...)."""
    return [(k, v) for k, v in row.items() if k not in KNOWN_TEXTS and isinstance(v, str) and v]


def segments_context(site: Any, state: Params) -> dict[str, Any]:
    run_id = str(state.get("run") or "")
    if not run_id:
        raise MtharnessError("?run=RUN_ID: which run's segments (open one from the runs page)")
    site.runs.folder(run_id)  # a 404 for anything outside the results folders
    store = _store(site, run_id)
    found = store.index.get(run_id) or {}
    if found.get("status") == "damaged":  # its segments may be whole, but nothing says what they are
        raise MtharnessError(f"run {run_id} is damaged: {found.get('reason')}")
    direction = choice(state, "direction", ("forward", "round_trip"), "forward")
    metrics = store.metrics(run_id, direction)
    query, page_no, per = _query(state, metrics)
    if query.compare is not None:
        site.runs.folder(query.compare)
        if store.index.get(query.compare) is None:
            store = SegmentStore(site.indexes.refresh())
    page = store.page(run_id, query)
    info = store.index.get(run_id) or {}
    other = store.index.get(query.compare) if query.compare else None
    precision = 2
    cell = (info.get("scores") or {}).get(direction, {}).get(query.metric or "")
    if cell is not None:
        precision = int(cell.get("precision") or 2)
    rows = []
    for r in page.rows:
        seg = r.segment
        text = str(seg.get(direction) or "")
        view: dict[str, Any] = {
            "index": r.index,
            "id": seg.get("id", r.index + 1),
            "source": str(seg.get("source") or ""),
            "references": [str(t) for t in seg.get("references") or []],
            "forward": mark(str(seg.get("forward") or ""), spans_of(seg, "forward")),
            "round_trip": mark(str(seg.get("round_trip") or ""), spans_of(seg, "round_trip"))
            if seg.get("round_trip") is not None
            else None,
            "has_spans": bool(spans_of(seg, "forward") or spans_of(seg, "round_trip")),
            "score": num(r.score, precision),
            "other_score": num(r.other_score, precision),
            "diff": num(r.diff, precision, sign=True),
            "diff_raw": r.diff,
            "scores": _scores_line(seg),
            "others": _other_texts(seg),
        }
        if r.other is not None:
            view["diff_pieces"] = word_diff(str(r.other.get(direction) or ""), text)
        rows.append(view)
    pages = max(1, -(-page.total // per))
    return {
        "partners": _partners(store, info, run_id),
        "run_id": run_id,
        "info": info,
        "other": other,
        "page": page,
        "rows": rows,
        "page_no": page_no,
        "pages": pages,
        "direction": direction,
        "direction_title": DIRECTION_TITLES[direction],
        "query": query,
        "metrics": metrics,
    }


def _partners(store: SegmentStore, info: dict[str, Any], run_id: str) -> list[dict[str, Any]]:
    """The other runs on the same test set (same content hash): the choices for ``vs``."""
    from mtharness.serve.query import RunQuery

    if not info.get("dataset"):
        return []
    found = store.index.query(RunQuery(dataset=info["dataset"], pair=info.get("pair"), limit=500))
    return [
        r for r in found.rows if r["run_id"] != run_id and r.get("content_hash") == info.get("content_hash")
    ]
