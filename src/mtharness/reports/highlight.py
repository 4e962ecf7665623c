"""Error spans laid over a translation for the HTML report: the text cut into pieces, each piece with
the spans that cover it, so the template marks it up with autoescape on (no HTML is built here).

Offsets are Python string positions (code points), as xCOMET and the judges store them. A span is
placed by its offsets when they lie inside the text and agree with its text (spaces aside); else by
finding its text (exactly, then ignoring case); a span found neither way is listed apart as
"not found in the translation", never dropped. Overlapping spans cut the text at every span edge: a
piece covered by several spans takes the colour of the most severe and lists them all in its tooltip.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from mtharness.compare.error_spans import SEVERITIES, ErrorMark

CLASSES = {s: s for s in SEVERITIES}  # severity -> the CSS class suffix (err-minor ...)
OTHER = "other"  # a severity outside MQM's three


def css_severity(span: ErrorMark) -> str:
    return CLASSES.get(span.severity, OTHER)


def place(text: str, span: ErrorMark) -> tuple[int, int] | None:
    """Where the span lies in ``text`` (start, end), or None."""
    start, end = span.start, span.end
    offsets = None
    if start is not None and end is not None and 0 <= start < end <= len(text):
        offsets = (start, end)
        if not span.text.strip() or text[start:end].strip() == span.text.strip():
            return offsets
    needle = span.text
    if needle.strip():
        at = text.find(needle)
        if at >= 0:
            return at, at + len(needle)
        folded, folded_needle = text.casefold(), needle.casefold()
        if len(folded) == len(text):  # positions in the folded text are positions in the text
            at = folded.find(folded_needle)
            if at >= 0:
                return at, at + len(folded_needle)
    return offsets  # offsets inside the text whose text disagrees: the offsets are what was stored


def tooltip(span: ErrorMark) -> str:
    parts = [f"{span.severity} error", span.category]
    if span.confidence is not None:
        parts.append(f"confidence {span.confidence:.2f}")
    parts.append(f"metric {span.metric}")
    return " · ".join(parts) + (f": “{span.text}”" if span.text else "")


def highlight(text: str, spans: Sequence[ErrorMark]) -> dict[str, Any]:
    """{"pieces": [{text, severity (css suffix, "" for plain text), overlap, title}], "unplaced": [...]}."""
    placed: list[tuple[int, int, ErrorMark]] = []
    unplaced = []
    for span in spans:
        at = place(text, span)
        if at is None:
            unplaced.append({"severity": css_severity(span), "title": tooltip(span), "text": span.text})
        else:
            placed.append((at[0], at[1], span))
    cuts = sorted({0, len(text), *(a for a, _, _ in placed), *(b for _, b, _ in placed)})
    pieces = []
    for lo, hi in itertools.pairwise(cuts):
        covering = [s for a, b, s in placed if a <= lo and hi <= b]
        if not covering:
            pieces.append({"text": text[lo:hi], "severity": "", "overlap": False, "title": ""})
            continue
        worst = max(covering, key=lambda s: s.rank)
        pieces.append(
            {
                "text": text[lo:hi],
                "severity": css_severity(worst),
                "overlap": len(covering) > 1,
                "title": "\n".join(tooltip(s) for s in covering),
            }
        )
    return {"pieces": pieces, "unplaced": unplaced, "n": len(spans)}
