"""Error spans of run folders (xCOMET's, an MQM judge's) as a comparison sees them: an MQM-style table
per system and the segments where two systems differ most in errors.

A run stores each segment's spans in segments.jsonl under ``spans.<direction>.<score name>``: a list of
{text, start, end, severity, confidence, source_metric} and, from an MQM judge, ``category``. Spans of
different metrics are never added together (xCOMET and a judge marking the same error would count it
twice): every table is per metric. A segment without a span list for a metric (a judge answer that
could not be read) is left out of that metric's counts and of the per-100 denominator.

Weights are MQM's as the judges use them (``scoring.judge_parse``): minor 1, major 5, critical 25, and
25 for a non-translation whatever its severity; a severity outside these three weighs 0 and is shown
as it came. The MQM score of a system is minus its weighted errors per annotated segment.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mtharness.run.reader import RunFolder
from mtharness.scoring.judge_parse import NON_TRANSLATION_WEIGHT, WEIGHTS

if TYPE_CHECKING:
    from mtharness.compare.systems import Comparison

SEVERITIES = ("minor", "major", "critical")  # mildest first: tables and colours follow this order
UNCATEGORISED = "uncategorised"  # xCOMET's spans carry no category
# metric -> system -> per segment: its spans, or None where the metric left the segment unannotated
SpanTable = dict[str, dict[str, list[list[dict[str, Any]] | None]]]


@dataclass(frozen=True)
class ErrorMark:
    """One stored span, checked: offsets may be None (a judge's span not found in the translation)."""

    text: str
    start: int | None
    end: int | None
    severity: str  # lower-case; minor/major/critical, or what the metric said
    category: str
    confidence: float | None
    metric: str

    @property
    def weight(self) -> float:
        if is_non_translation(self.category):
            return NON_TRANSLATION_WEIGHT
        return WEIGHTS.get(self.severity, 0.0)

    @property
    def rank(self) -> int:
        """Severity order for colouring overlaps: unknown < minor < major < critical."""
        return SEVERITIES.index(self.severity) + 1 if self.severity in SEVERITIES else 0


def is_non_translation(category: str) -> bool:
    return re.sub(r"[^a-z]", "", category.lower()).startswith("nontranslation")


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def mark(raw: Any, metric: str) -> ErrorMark | None:
    """A stored span as an ErrorMark; None for something that is not a span at all."""
    if not isinstance(raw, Mapping):
        return None
    conf = raw.get("confidence")
    return ErrorMark(
        text=str(raw.get("text") or ""),
        start=_int(raw.get("start")),
        end=_int(raw.get("end")),
        severity=str(raw.get("severity") or "").strip().lower() or "unknown",
        category=str(raw.get("category") or "").strip() or UNCATEGORISED,
        confidence=float(conf) if isinstance(conf, int | float) and not isinstance(conf, bool) else None,
        metric=str(raw.get("source_metric") or metric),
    )


def marks(spans: Sequence[Any] | None, metric: str) -> list[ErrorMark]:
    return [m for m in (mark(s, metric) for s in spans or ()) if m is not None]


def spans_from_runs(label: str, runs: Mapping[str, RunFolder]) -> SpanTable:
    """Every metric's spans in direction ``label``, per system and segment (empty: no run has any)."""
    table: SpanTable = {}
    for system, run in runs.items():
        for i, row in enumerate(run.rows):
            node = ((row.get("spans") or {}) if isinstance(row, dict) else {}).get(label) or {}
            if not isinstance(node, Mapping):
                continue
            for metric, spans in node.items():
                if isinstance(spans, list):
                    per_system = table.setdefault(str(metric), {})
                    per_system.setdefault(system, [None] * len(run.rows))[i] = spans
    return table


def segment_marks(table: SpanTable, system: str, i: int) -> list[ErrorMark]:
    """Every metric's spans on one segment of one system."""
    out: list[ErrorMark] = []
    for metric, per_system in table.items():
        segments = per_system.get(system)
        if segments is not None and i < len(segments):
            out += marks(segments[i], metric)
    return out


@dataclass
class SystemErrors:
    """One system's errors under one metric."""

    segments: int = 0  # segments the metric annotated (a list, maybe empty)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # category -> severity -> n
    weighted: float = 0.0

    def add(self, spans: Sequence[ErrorMark]) -> None:
        self.segments += 1
        for s in spans:
            row = self.counts.setdefault(s.category, {})
            row[s.severity] = row.get(s.severity, 0) + 1
            self.weighted += s.weight

    def by_severity(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for row in self.counts.values():
            for severity, n in row.items():
                out[severity] = out.get(severity, 0) + n
        return out

    def per_100(self, n: int) -> float:
        return 100.0 * n / self.segments if self.segments else 0.0

    @property
    def mqm_score(self) -> float | None:
        """Minus the weighted errors per annotated segment (0: no errors); None: nothing annotated."""
        return -self.weighted / self.segments if self.segments else None

    def to_json(self) -> dict[str, Any]:
        severity = self.by_severity()
        total = sum(severity.values())
        return {
            "segments": self.segments,
            "errors": total,
            "by_severity": severity,
            "by_category": {c: dict(r) for c, r in sorted(self.counts.items())},
            "per_100_segments": {
                "errors": round(self.per_100(total), 4),
                "by_severity": {s: round(self.per_100(n), 4) for s, n in severity.items()},
                "by_category": {
                    c: {s: round(self.per_100(n), 4) for s, n in r.items()}
                    for c, r in sorted(self.counts.items())
                },
            },
            "weighted_errors": round(self.weighted, 4),
            "mqm_score": None if self.mqm_score is None else round(self.mqm_score, 4),
        }


def severities(tables: Mapping[str, SystemErrors]) -> list[str]:
    """The severity columns: MQM's three, then any other a metric used."""
    seen = {s for t in tables.values() for s in t.by_severity()}
    return [*SEVERITIES, *sorted(seen - set(SEVERITIES))]


def system_errors(
    per_system: Mapping[str, Sequence[Any]], systems: Sequence[str], metric: str
) -> dict[str, SystemErrors]:
    out = {}
    for name in systems:
        errors = SystemErrors()
        for spans in per_system.get(name) or ():
            if spans is not None:
                errors.add(marks(spans, metric))
        out[name] = errors
    return out


def differences(
    per_system: Mapping[str, Sequence[Any]], a: str, b: str, metric: str, top: int
) -> list[dict[str, Any]]:
    """The ``top`` segments where ``a`` and ``b`` differ most in weighted errors, then in error count
    (both annotated; ties in segment order); a segment with the same errors on both is never listed."""
    rows: list[dict[str, Any]] = []
    for i, (x, y) in enumerate(zip(per_system.get(a) or (), per_system.get(b) or (), strict=False)):
        if x is None or y is None:
            continue
        ma, mb = marks(x, metric), marks(y, metric)
        wa, wb = sum(s.weight for s in ma), sum(s.weight for s in mb)
        if wa == wb and len(ma) == len(mb):
            continue
        rows.append(
            {
                "line": i + 1,
                "errors": {a: len(ma), b: len(mb)},
                "weighted": {a: wa, b: wb},
                "weighted_difference": wb - wa,
                "count_difference": len(mb) - len(ma),
            }
        )
    rows.sort(key=lambda r: (-abs(r["weighted_difference"]), -abs(r["count_difference"]), r["line"]))
    return rows[:top]


def error_span_summary(
    table: SpanTable, systems: Sequence[str], reference: str, top: int = 10
) -> dict[str, Any]:
    """The JSON block ``error_spans``: per metric, each system's MQM table and, for every other system,
    the segments where it differs most from ``reference`` (the baseline, else the best system)."""
    out: dict[str, Any] = {}
    for metric, per_system in table.items():
        errors = system_errors(per_system, systems, metric)
        out[metric] = {
            "weights": {**WEIGHTS, "non-translation": NON_TRANSLATION_WEIGHT},
            "severities": severities(errors),
            "systems": {name: e.to_json() for name, e in errors.items()},
            "differences": [
                {
                    "systems": [reference, other],
                    "segments": differences(per_system, reference, other, metric, top),
                }
                for other in systems
                if other != reference and reference in per_system and other in per_system
            ],
        }
    return out


def attach_error_spans(comp: Comparison, top: int = 10) -> None:
    """Put the ``error_spans`` block on a comparison (a block of its JSON) when its runs stored spans."""
    if comp.inp.error_spans:
        comp.error_spans = error_span_summary(comp.inp.error_spans, comp.systems, comp.baseline, top)
