"""Segment-mean metrics (COMET, CometKiwi, ...) for a comparison: read from run folders, or scored afresh.

A run folder made with such a metric holds every segment's score in segments.jsonl, so comparing
runs re-runs no model. For plain files (--src/--refs/--systems) the metric's scorer scores them
(COMET: through the managed environment's worker and the segment cache; a second comparison is free).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from mtharness.compare.systems import CompareInput
from mtharness.core import MtharnessError
from mtharness.run.reader import RunFolder
from mtharness.scoring.metrics import MetricSpec, score_name
from mtharness.scoring.protocol import MultiSystemScorer
from mtharness.scoring.significance import SystemStats, mean_stats


def stats_from_runs(label: str, runs: Mapping[str, RunFolder], name: str) -> dict[str, SystemStats] | None:
    """Each run's stored segment scores of ``name`` in direction ``label``; None if any run lacks them."""
    out: dict[str, SystemStats] = {}
    signatures = set()
    for system, run in runs.items():
        stored = run.record.score(label, name)
        scores = run.segment_scores(label, name)
        if stored is None or scores is None:
            return None
        signatures.add(stored.signature)
        out[system] = mean_stats(
            system, name, scores, stored.signature, stored.higher_is_better, stored.precision
        )
    if len(signatures) > 1:
        raise MtharnessError(
            f"{name} ({label}): the runs were scored with different models or settings: {sorted(signatures)}"
        )
    return out


def score_with_model(
    inp: CompareInput, spec: MetricSpec, cache_dir: str | Path | None
) -> dict[str, SystemStats]:
    """Score every system of ``inp`` with the segment-mean ``spec`` (its scorer, its cache)."""
    info = spec.info
    if inp.sources is None and info.needs_source:
        raise MtharnessError(f"--metrics {spec.kind} needs the source: give --src")
    sources = inp.sources if inp.sources is not None else [""] * len(inp.refs[0])
    metric = spec.segment_metric()
    refs = inp.refs[0] if metric.needs_references_for(spec.args) else None
    out: dict[str, SystemStats] = {}
    scorer = metric.open(spec.args, cache_dir)
    try:
        if isinstance(scorer, MultiSystemScorer):  # COMET: shared sources/refs encoded once for all
            scored = scorer.score_systems(sources, inp.systems, refs)
        else:
            scored = {system: scorer.score(sources, hyps, refs) for system, hyps in inp.systems.items()}
        for system, (res, scores) in scored.items():
            out[system] = mean_stats(
                system, res.name, scores, res.signature, res.higher_is_better, res.precision
            )
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
