"""The HTML report's error-span parts: a segment's translation with its spans marked, and the section
with the MQM-style tables and the segments where two systems differ most in errors."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from mtharness.compare.error_spans import segment_marks
from mtharness.reports.error_spans_text import table_header, table_rows, weights_note
from mtharness.reports.highlight import highlight

if TYPE_CHECKING:
    from mtharness.compare.systems import Comparison

Segment = Callable[[Any, int, Sequence[str]], dict[str, Any]]  # html._segment(comp, i, systems)


def marked(comp: Comparison, system: str, i: int, text: str) -> dict[str, Any] | None:
    """The output's text cut into marked pieces; None where no metric marked anything on it."""
    table = comp.inp.error_spans
    if not table:
        return None
    spans = segment_marks(table, system, i)
    return highlight(text, spans) if spans else None


def span_section(comp: Comparison, segment: Segment) -> list[dict[str, Any]]:
    """Per metric with spans: its table (rows as the terminal's) and the differing segments."""
    out = []
    for metric, block in (comp.error_spans or {}).items():
        groups = []
        for d in block.get("differences") or []:
            a, b = d["systems"]
            groups.append(
                {
                    "title": f"Where {b} and {a} differ most in {metric} errors (weighted, then count)",
                    "segments": [segment(comp, r["line"] - 1, [a, b]) for r in d["segments"]],
                }
            )
        out.append(
            {
                "metric": metric,
                "note": weights_note(block),
                "header": table_header(block),
                "rows": table_rows(block),
                "differences": groups,
            }
        )
    return out
