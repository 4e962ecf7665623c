"""Segment-mean metrics (COMET, CometKiwi, ...) for a comparison: read from run folders, or scored afresh.

A run folder made with such a metric holds every segment's score in segments.jsonl, so comparing
runs re-runs no model. For plain files (--src/--refs/--systems) the metric's scorer scores them
(COMET: through the managed environment's worker and the segment cache; a second comparison is free).
An LLM judge is told the direction first (its prompt names the languages: the runs', or for files
--src-lang/--tgt-lang or their suffixes); the spans of xCOMET or an MQM judge feed the error tables.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mtharness.compare.systems import CompareInput
from mtharness.core import MetricResult, MtharnessError
from mtharness.run.reader import RunFolder
from mtharness.scoring.metrics import MetricSpec, score_name
from mtharness.scoring.protocol import DirectionAware, MultiSystemScorer, SpanScorer, SystemSpanScorer
from mtharness.scoring.significance import SystemStats, mean_stats


def scored_by_all(
    label: str, name: str, scored: Mapping[str, Sequence[float | None]]
) -> dict[str, list[float]]:
    """Every system's scores on the segments that every system has a score for.

    An LLM judge leaves a segment unscored when its answer cannot be parsed (never 0). CIs and
    paired tests must compare systems on the same segments, so a segment unscored for one system
    is left out for all of them; the system scores are then means over that common set.
    """
    n = min((len(s) for s in scored.values()), default=0)
    keep = [i for i in range(n) if all(_finite(s[i]) for s in scored.values())]
    if not keep:
        raise MtharnessError(
            f"{name} ({label}): no segment has a score for every system (every answer unparseable?); "
            "compare without this metric"
        )
    return {system: [float(s[i]) for i in keep] for system, s in scored.items()}  # type: ignore[arg-type]


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def stats_from_runs(label: str, runs: Mapping[str, RunFolder], name: str) -> dict[str, SystemStats] | None:
    """Each run's stored segment scores of ``name`` in direction ``label``; None if any run lacks them.

    Gaps are accepted only where the stored score accounts for them (``judge_failures``: the judge's
    unparseable answers); a run with unexplained gaps is re-scored instead."""
    scored: dict[str, list[float | None]] = {}
    stored_of = {}
    for system, run in runs.items():
        stored = run.record.score(label, name)
        if stored is None:
            return None
        scores = run.segment_scores_with_gaps(label, name)
        gaps = sum(v is None for v in scores)
        if gaps and gaps != stored.extra.get("judge_failures"):
            return None
        scored[system], stored_of[system] = scores, stored
    if len({s.signature for s in stored_of.values()}) > 1:
        signatures = sorted({s.signature for s in stored_of.values()})
        raise MtharnessError(
            f"{name} ({label}): the runs were scored with different models or settings: {signatures}"
        )
    common = scored_by_all(label, name, scored)
    return {
        system: mean_stats(
            system,
            name,
            common[system],
            st.signature,
            st.higher_is_better,
            st.precision,
        )
        for system, st in stored_of.items()
    }


# what an LLM judge's prompt names the source language as when the input does not say (plain files
# without --src-lang and without a language suffix on --src)
UNKNOWN_SOURCE_LANGUAGE = "the source language"


def _score_systems(
    scorer: object, sources: list[str], inp: CompareInput, refs: list[str] | None
) -> tuple[dict[str, tuple[MetricResult, list[float]]], dict[str, list[list[dict[str, Any]]]]]:
    """Every system's result and segment scores and, from a span-marking scorer, its error spans."""
    if isinstance(scorer, DirectionAware):  # an LLM judge names the languages in its prompt
        scorer.set_direction(inp.label, inp.src_lang or UNKNOWN_SOURCE_LANGUAGE, inp.trg_lang)
    if isinstance(scorer, MultiSystemScorer):  # COMET: shared sources/refs encoded once for all
        scored = scorer.score_systems(sources, inp.systems, refs)
        spans = scorer.system_spans() if isinstance(scorer, SystemSpanScorer) else {}
        return scored, spans
    scored, spans = {}, {}
    for system, hyps in inp.systems.items():
        scored[system] = scorer.score(sources, hyps, refs)  # type: ignore[attr-defined]
        if isinstance(scorer, SpanScorer):
            spans[system] = scorer.spans()
    return scored, spans


def _keep_spans(
    inp: CompareInput,
    name: str,
    scored: Mapping[str, tuple[MetricResult, list[float]]],
    spans: Mapping[str, Any],
) -> None:
    """The spans into ``inp.error_spans`` (the MQM-style tables), as a run folder would give them; a
    segment the metric left unscored (an unparseable judge answer) is unannotated (None)."""
    if not spans:
        return
    inp.error_spans[name] = {
        system: [sp if math.isfinite(v) else None for sp, v in zip(spans[system], seg, strict=True)]
        for system, (_, seg) in scored.items()
        if system in spans
    }


def score_with_model(
    inp: CompareInput, spec: MetricSpec, cache_dir: str | Path | None
) -> dict[str, SystemStats]:
    """Score every system of ``inp`` with the segment-mean ``spec`` (its scorer, its cache); a scorer
    that marks error spans (xCOMET, an MQM judge) adds them to ``inp.error_spans``."""
    info = spec.info
    if inp.sources is None and info.needs_source:
        raise MtharnessError(f"--metrics {spec.kind} needs the source: give --src")
    sources = inp.sources if inp.sources is not None else [""] * len(inp.refs[0])
    metric = spec.segment_metric()
    refs = inp.refs[0] if metric.needs_references_for(spec.args) else None
    out: dict[str, SystemStats] = {}
    scorer = metric.open(spec.args, cache_dir)
    try:
        scored, spans = _score_systems(scorer, sources, inp, refs)
        # a judge's unparseable answers are NaN: the same segments left out for every system
        values = scored_by_all("scored now", spec.kind, {system: seg for system, (_, seg) in scored.items()})
        for system, (res, _) in scored.items():
            out[system] = mean_stats(
                system,
                res.name,
                values[system],
                res.signature,
                res.higher_is_better,
                res.precision,
            )
        if scored:
            _keep_spans(inp, next(iter(scored.values()))[0].name, scored, spans)
    finally:
        scorer.close()
    return out


def mean_metric_stats(
    inp: CompareInput, spec: MetricSpec, cache_dir: str | Path | None
) -> dict[str, SystemStats]:
    """Stored scores where the input has them (run folders), else scored now."""
    name = score_name(spec, inp.trg_lang)
    stored = inp.segment_means.get(name)
    if stored is not None:
        return stored
    return score_with_model(inp, spec, cache_dir)
