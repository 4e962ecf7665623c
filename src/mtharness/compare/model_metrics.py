"""COMET / CometKiwi (model-based metrics) segment scores for a comparison: read from run folders, or scored afresh.

A run folder made with metrics=[...,comet] holds every segment's COMET score in segments.jsonl, so
comparing runs re-runs no model. For plain files (--src/--refs/--systems) the scores come from the
managed environment's worker, through the segment cache (a second comparison is free).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from mtharness.compare.systems import CompareInput
from mtharness.core import MtharnessError
from mtharness.run.reader import RunFolder
from mtharness.scoring.comet import CometScorer, comet_config
from mtharness.scoring.comet_cache import CometCache
from mtharness.scoring.metrics import MetricSpec, score_name
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
        out[system] = mean_stats(system, name, scores, stored.signature)
    if len(signatures) > 1:
        raise MtharnessError(
            f"{name} ({label}): the runs were scored with different models or settings: {sorted(signatures)}"
        )
    return out


def score_with_model(
    inp: CompareInput, spec: MetricSpec, cache_dir: str | Path | None
) -> dict[str, SystemStats]:
    """Score every system of ``inp`` with the COMET-family ``spec`` (cached segment by segment)."""
    cfg = comet_config(spec.kind, spec.args)
    if inp.sources is None:
        raise MtharnessError(f"--metrics {spec.kind} needs the source: give --src")
    refs = inp.refs[0] if cfg.needs_refs else None
    cache = CometCache(cache_dir)
    out: dict[str, SystemStats] = {}
    try:
        with CometScorer(cfg, cache) as scorer:
            for system, hyps in inp.systems.items():
                res, scores = scorer.score(inp.sources, hyps, refs)
                out[system] = mean_stats(system, res.name, scores, res.signature)
    finally:
        cache.close()
    return out


def neural_stats(inp: CompareInput, spec: MetricSpec, cache_dir: str | Path | None) -> dict[str, SystemStats]:
    """Stored scores where the input has them (run folders), else scored now."""
    name = score_name(spec, inp.trg_lang)
    stored = inp.neural.get(name)
    if stored is not None:
        return stored
    return score_with_model(inp, spec, cache_dir)
