"""COMET and CometKiwi (model-based metrics) in a run: which pairs each direction scores, and the cache bookkeeping.

forward     COMET (src, mt, ref) against the first reference stream; CometKiwi (src, mt), also on
            a dataset without references.
round_trip  COMET (forward output, round trip, original source): the source plays the reference;
            CometKiwi (forward output, round trip).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from mtharness.core import RunResult
from mtharness.scoring.comet import CometScorer, check_ready, comet_config
from mtharness.scoring.comet_cache import CometCache
from mtharness.scoring.metrics import MetricSpec


def neural_specs(specs: Sequence[MetricSpec]) -> list[MetricSpec]:
    return [s for s in specs if s.neural]


def check_model_metrics(specs: Sequence[MetricSpec]) -> None:
    """Before translating: a missing environment or checkpoint fails now, not after an hour of MT."""
    for spec in neural_specs(specs):
        check_ready(comet_config(spec.kind, spec.args))


def score_model_metrics(result: RunResult, specs: Sequence[MetricSpec], cache_dir: str | Path | None) -> None:
    """Score every direction with each COMET-family metric; one worker per metric for the run."""
    neural = neural_specs(specs)
    if not neural:
        return
    ds, fwd, back = result.dataset, result.forward, result.round_trip
    cache = CometCache(cache_dir)
    totals = {"hits": 0, "misses": 0, "model_calls": 0}
    try:
        for spec in neural:
            with CometScorer(comet_config(spec.kind, spec.args), cache) as scorer:
                refs = ds.reference_streams[0] if ds.ref_names else None
                if refs is not None or not scorer.cfg.needs_refs:
                    res, seg = scorer.score(ds.sources, fwd.outputs, refs if scorer.cfg.needs_refs else None)
                    fwd.scores[res.name], fwd.segment_scores[res.name] = res, seg
                if back is not None:
                    rt_ref = ds.sources if scorer.cfg.needs_refs else None
                    res, seg = scorer.score(fwd.outputs, back.outputs, rt_ref)
                    back.scores[res.name], back.segment_scores[res.name] = res, seg
                for key in totals:
                    totals[key] += scorer.stats[key]
    finally:
        cache.close()
    result.comet_cache = {**totals, "file": str(cache.path) if cache.path else None}
