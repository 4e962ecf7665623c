"""Segment-mean metrics (COMET, CometKiwi, a metric of your own) in a run: which pairs each direction
scores, and the scorers' bookkeeping. sacrebleu's metrics are scored in ``run.evaluate``.

forward     (src, mt, ref) against the first reference stream; a reference-free metric (CometKiwi)
            scores (src, mt), also on a dataset without references.
round_trip  (forward output, round trip, original source): the source plays the reference; a
            reference-free metric scores (forward output, round trip).

Each metric's modules are imported here only when the run asks for it (scoring.registry).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mtharness.core import Dataset, DirectionResult, MtharnessError, RunResult
from mtharness.scoring.metrics import MetricSpec
from mtharness.scoring.protocol import DirectionAware, SpanScorer


def mean_specs(specs: Sequence[MetricSpec]) -> list[MetricSpec]:
    return [s for s in specs if s.segment_mean]


def check_segment_metrics(
    specs: Sequence[MetricSpec], dataset: Dataset | None = None, round_trip: bool = True
) -> None:
    """Before translating: a missing environment or checkpoint fails now, not after an hour of MT;
    so does a reference-based metric (MetricX mode=ref, COMET) that would score nothing: a dataset
    without references and no round trip (the round trip scores against the source instead)."""
    for spec in mean_specs(specs):
        metric = spec.segment_metric()
        no_refs = dataset is not None and not dataset.ref_names
        if no_refs and not round_trip and dataset is not None and metric.needs_references_for(spec.args):
            raise MtharnessError(
                f"metrics=[...,{spec.kind}] needs references and dataset {dataset.name} has none in "
                f"{dataset.pair.tgt} (round_trip=false "
                "leaves nothing to score): give references, use a reference-free metric or mode "
                "(metrics.metricx.mode=qe, cometkiwi, xcomet_qe), or keep the round trip"
            )
        metric.check_ready(spec.args)


def _add_report(totals: dict[str, Any], report: dict[str, dict[str, Any]]) -> None:
    for key, counts in report.items():
        slot = totals.setdefault(key, {})
        for name, value in counts.items():
            is_count = isinstance(value, int) and not isinstance(value, bool)
            slot[name] = slot.get(name, 0) + value if is_count else value


def _add_spans(result: RunResult, direction: DirectionResult, name: str, scorer: object) -> None:
    """A span-marking scorer's spans (xCOMET) into segments.jsonl: spans.<direction>.<score name>."""
    if not isinstance(scorer, SpanScorer):
        return
    rows = result.segment_fields.setdefault("spans", [{} for _ in direction.outputs])
    for row, segment in zip(rows, scorer.spans(), strict=True):
        row.setdefault(direction.direction, {})[name] = [{**sp, "source_metric": name} for sp in segment]


def _score(result: RunResult, direction: DirectionResult, scorer: Any, args: tuple[Any, Any, Any]) -> None:
    """One direction's scores; a metric that could score no segment (an LLM judge whose every answer
    was unparseable) leaves no score: its own report says why (scores.json ``judges``)."""
    if isinstance(scorer, DirectionAware):
        scorer.set_direction(direction.direction, direction.pair.src, direction.pair.tgt)
    res, seg = scorer.score(*args)
    if math.isfinite(res.score):
        direction.scores[res.name], direction.segment_scores[res.name] = res, seg
    else:
        direction.segment_scores[res.name] = seg  # every one missing: null in segments.jsonl
    _add_spans(result, direction, res.name, scorer)


def apply_segment_metrics(
    result: RunResult, specs: Sequence[MetricSpec], cache_dir: str | Path | None
) -> None:
    """Score every direction with each segment-mean metric; one scorer per metric for the run."""
    chosen = mean_specs(specs)
    if not chosen:
        return
    ds, fwd, back = result.dataset, result.forward, result.round_trip
    totals: dict[str, Any] = {}
    for spec in chosen:
        metric = spec.segment_metric()
        needs_refs = metric.needs_references_for(spec.args)
        scorer = metric.open(spec.args, cache_dir)
        try:
            refs = ds.reference_streams[0] if ds.ref_names else None
            if refs is not None or not needs_refs:
                _score(result, fwd, scorer, (ds.sources, fwd.outputs, refs if needs_refs else None))
            if back is not None and metric.scores_round_trip(spec.args):
                rt_ref = ds.sources if needs_refs else None
                _score(result, back, scorer, (fwd.outputs, back.outputs, rt_ref))
            _add_report(totals, scorer.report())
        finally:
            scorer.close()
    # the scorers' counters for scores.json: COMET reports its segment cache (comet_cache)
    result.comet_cache = totals.get("comet_cache", result.comet_cache)
    # LLM judges: failures per direction and the requests' usage and cost (judges)
    result.judges = totals.get("judges", result.judges)
