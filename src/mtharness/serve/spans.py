"""Error spans on a segment's text: segments.jsonl may carry ``spans.<direction>.<metric>``, a list
of ``{text, start, end, severity, ...}`` (character offsets into that direction's output, as
xCOMET/CometKiwi give them). The page shows the text cut into pieces, the spans marked; the
template escapes every piece, so a span never injects markup."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

SEVERITIES = ("minor", "major", "critical")


@dataclass(frozen=True)
class Piece:
    text: str
    severity: str | None = None  # None: unmarked text; else minor/major/critical/other
    title: str = ""  # what a hover shows: metric, severity, confidence


def _bounds(text: str, span: Mapping[str, Any]) -> tuple[int, int] | None:
    """The span's offsets when they are whole numbers inside the text and agree with its ``text``;
    else where its ``text`` first occurs; else None (a span we cannot place is left out)."""
    start, end, said = span.get("start"), span.get("end"), span.get("text")
    if (
        isinstance(start, int)
        and isinstance(end, int)
        and not isinstance(start, bool)
        and 0 <= start < end <= len(text)
        and (not isinstance(said, str) or text[start:end] == said)
    ):
        return start, end
    if isinstance(said, str) and said:
        found = text.find(said)
        if found >= 0:
            return found, found + len(said)
    return None


def mark(text: str, spans: Mapping[str, Sequence[Any]] | None) -> list[Piece]:
    """``text`` cut at the spans of every metric (``{metric: [span, ...]}``); overlapping spans: the
    first one (by start, then the most severe) wins, the rest are left out."""
    placed: list[tuple[int, int, str, str]] = []
    for metric, items in (spans or {}).items():
        if not isinstance(items, list):
            continue
        for span in items:
            if not isinstance(span, Mapping):
                continue
            bounds = _bounds(text, span)
            if bounds is None:
                continue
            severity = str(span.get("severity") or "").lower()
            css = severity if severity in SEVERITIES else "other"
            title = f"{metric}: {severity or 'error'}"
            if isinstance(span.get("confidence"), int | float):
                title += f" (confidence {float(span['confidence']):.2f})"
            placed.append((*bounds, css, title))
    rank = {"critical": 0, "major": 1, "minor": 2, "other": 3}
    placed.sort(key=lambda p: (p[0], rank[p[2]]))
    pieces: list[Piece] = []
    at = 0
    for start, end, css, title in placed:
        if start < at:
            continue  # overlaps one already marked
        if start > at:
            pieces.append(Piece(text[at:start]))
        pieces.append(Piece(text[start:end], css, title))
        at = end
    if at < len(text) or not pieces:
        pieces.append(Piece(text[at:]))
    return pieces


def spans_of(row: Mapping[str, Any], direction: str) -> dict[str, list[Any]]:
    """``row["spans"][direction]`` when it is the documented shape, else no spans."""
    node = row.get("spans")
    found = node.get(direction) if isinstance(node, Mapping) else None
    if not isinstance(found, Mapping):
        return {}
    return {str(k): v for k, v in found.items() if isinstance(v, list)}
