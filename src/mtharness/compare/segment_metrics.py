"""Segment-mean metrics (COMET, CometKiwi, ...) for a comparison: read from run folders, or scored afresh.

A run folder made with such a metric holds every segment's score in segments.jsonl, so comparing
runs re-runs no model. For plain files (--src/--refs/--systems) the metric's scorer scores them
(COMET: through the managed environment's worker and the segment cache; a second comparison is free).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mtharness.compare.systems import CompareInput
from mtharness.core import MtharnessError
from mtharness.scoring.metrics import MetricSpec, score_name
from mtharness.scoring.registry import precision_of
from mtharness.scoring.significance import SystemStats, mean_stats


def stats_from_runs(
    label: str,
    rows_by_system: Mapping[str, Sequence[Mapping[str, Any]]],
    scores_by_system: Mapping[str, Mapping[str, Any]],
    name: str,
) -> dict[str, SystemStats] | None:
    """Each run's stored segment scores of ``name`` in direction ``label``; None if any run lacks them."""
    out: dict[str, SystemStats] = {}
    signatures = set()
    for system, rows in rows_by_system.items():
        stored = (scores_by_system[system].get(label) or {}).get(name)
        raw = [((r.get("scores") or {}).get(label) or {}).get(name) for r in rows]
        scores = [float(s) for s in raw if isinstance(s, int | float) and not isinstance(s, bool)]
        if stored is None or len(scores) != len(raw):
            return None
        signatures.add(stored["signature"])
        higher = bool(stored.get("higher_is_better", True))
        out[system] = mean_stats(
            system, name, scores, stored["signature"], higher, precision_of(name, stored)
        )
    if len(signatures) > 1:
        raise MtharnessError(
            f"{name} ({label}): the runs were scored with different models or settings: {sorted(signatures)}"
        )
    return out


def score_systems(
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
        for system, hyps in inp.systems.items():
            res, scores = scorer.score(sources, hyps, refs)
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
    return score_systems(inp, spec, cache_dir)
