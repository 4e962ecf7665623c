"""Which metric scored what in a run, said by every summary (terminal, summary.md, HTML report).

A reference-based metric (BLEU, COMET, xCOMET, MetricX in ref mode) scores the forward output against
the references and the round trip against the original source. A quality-estimation metric (CometKiwi,
xCOMET-QE, MetricX mode=qe) reads no reference: forward it scores the translation from its source; on
the round trip it scores the way back from the forward output, which says nothing about the original.
Which kind a metric is comes from the metric protocol (``needs_references_for`` with the settings the
run recorded), never from its name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mtharness.core import MtharnessError
from mtharness.run.record import RunRecord
from mtharness.scoring import registry

REFERENCE_BASED = {
    "forward": "forward against the references",
    "round_trip": "round trip against the original source",
}
QUALITY_ESTIMATION = {
    "forward": "forward from the source and the translation only (quality estimation, no references)",
    "round_trip": "round trip from the forward output and the way back (quality estimation, "
    "not against the original)",
}


def _settings(kind: str, config: Mapping[str, Any]) -> dict[str, Any]:
    """The metric's recorded settings (metrics.<key> whose metric is ``kind``), minus the bookkeeping."""
    nodes = config.get("metrics")
    if not isinstance(nodes, Mapping):
        return {}
    for key, node in nodes.items():
        if isinstance(node, Mapping) and registry.resolve(str(node.get("metric") or key)) == kind:
            return {k: v for k, v in node.items() if k not in ("metric", "_target_") and v is not None}
    return {}


def needs_references(score_name: str, config: Mapping[str, Any]) -> bool | None:
    """Whether the metric behind a stored score read references under the run's settings; None: a
    metric this installation does not know (a plugin that is not registered)."""
    try:
        kind = registry.resolve(score_name)
        if kind is None:
            return None
        metric = registry.get(kind)
    except MtharnessError:
        return None
    try:
        return metric.needs_references_for(_settings(kind, config))
    except MtharnessError:  # settings this version would refuse: what the metric declares
        return metric.info.needs_references


def metric_use_lines(record: RunRecord) -> list[str]:
    """ "NAMES: what they scored" lines, metrics that scored alike grouped, in the order first shown."""
    directions: dict[str, list[str]] = {}
    for d in record.directions:
        for name in d.scores:
            directions.setdefault(name, []).append(d.direction)
    groups: dict[str, list[str]] = {}
    for name, used in directions.items():
        refs = needs_references(name, record.config)
        if refs is None:
            text = "scored " + " and ".join(u.replace("_", " ") for u in used) + " (an unregistered metric)"
        else:
            words = REFERENCE_BASED if refs else QUALITY_ESTIMATION
            text = "; ".join(words[u] for u in used if u in words)
        groups.setdefault(text, []).append(name)
    return [f"{', '.join(names)}: {text}" for text, names in groups.items()]
