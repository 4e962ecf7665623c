"""evaluate(): translate forward, translate back, score. Plain functions; no Hydra here."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from mtharness.core import Dataset, DirectionResult, LanguagePair, MtharnessError, RunResult
from mtharness.run.cache import LangIdCache
from mtharness.run.neural import apply_neural, check_neural
from mtharness.run.translate import translate_all, translate_direction, translate_round_trip
from mtharness.scoring import metrics as M
from mtharness.translators import base
from mtharness.translators.base import Translator, run_info, translation_stats

__all__ = [
    "evaluate",
    "score_direction",
    "translate_all",
    "translate_direction",
]  # the loop: run/translate.py


def score_direction(
    result: DirectionResult, refs: Sequence[Sequence[str]], specs: Sequence[M.MetricSpec]
) -> DirectionResult:
    """Fill in corpus scores (with signatures) and segment scores for one direction."""
    # one pass: references preprocessed once, statistics shared with the segment scores
    sacre = [s for s in specs if not s.neural]  # COMET-family metrics: run.neural.apply_neural
    scores, segments = M.direction_scores(sacre, result.outputs, refs, result.pair.tgt)
    for res in scores:
        result.scores[res.name] = res
    result.segment_scores = segments
    return result


def copy_rate(sources: Sequence[str], outputs: Sequence[str]) -> float:
    """Fraction of forward outputs identical (up to surrounding whitespace) to their non-empty source.

    An empty source has nothing to copy: its (empty) output says nothing about the system, so empty
    sources are left out here and counted apart (``empty_sources`` in scores.json).
    """
    pairs = [(s.strip(), o.strip()) for s, o in zip(sources, outputs, strict=True) if s.strip()]
    if not pairs:
        return 0.0
    return sum(1 for s, o in pairs if s == o) / len(pairs)


def count_empty(sources: Sequence[str]) -> int:
    """Source segments that are empty or whitespace only."""
    return sum(1 for s in sources if not s.strip())


def _cache_stats(translator: Translator, pair: LanguagePair) -> dict[str, int] | None:
    counts: dict[str, int] | None = translation_stats(translator).get(str(pair))
    return counts


def output_notes(
    translator: Translator, direction: str, texts: Sequence[str], pair: LanguagePair
) -> tuple[dict[str, list[Any]], dict[str, Any]]:
    """A backend's per-segment notes for one direction (an LLM's raw answers and cleanup flags) as
    segments.jsonl fields named ``<direction>_<key>``, and its per-direction summaries for scores.json
    ({"llm_cleanup": {"forward": {...}}}). Backends without ``output_notes`` give nothing."""
    fields, summaries = base.output_notes(translator, texts, pair.src, pair.tgt)
    return (
        {f"{direction}_{key}": list(values) for key, values in fields.items()},
        {key: {direction: value} for key, value in summaries.items()},
    )


def evaluate(
    dataset: Dataset,
    translator: Translator,
    metric_specs: Sequence[M.MetricSpec] | None = None,
    round_trip: bool = True,
    limit: int | None = None,
    chunk_size: int = 256,
    progress: bool = True,
    config: dict[str, Any] | None = None,
    validity: Mapping[str, Any] | None = None,
    langid_cache: LangIdCache | None = None,
    score_cache_dir: str | None = None,
) -> RunResult:
    """Run one system on one dataset: forward (+ scores against references) and the round trip.

    ``validity`` (the config's validity block) adds language ID and semantic similarity; None skips them.
    ``langid_cache`` keeps language-ID labels across runs (None: detect every time).
    ``score_cache_dir`` holds comet.sqlite, the COMET segment scores (None: nothing kept).
    """
    specs = list(metric_specs) if metric_specs is not None else M.parse_specs(None)
    if validity is not None:
        from mtharness.validity.checks import check_config

        check_config(validity)  # a bad key or missing package fails before the translation, not after
    check_neural(specs)  # the COMET environment and checkpoint, before translating too
    ds = dataset.subset(limit)
    empty = count_empty(ds.sources)
    if empty == len(ds):
        raise MtharnessError(
            f"dataset {ds.name} ({ds.origin or 'no origin'}): every one of its {len(ds)} source segments is "
            "empty; check the source file (dataset.src) or the column/field it is read from"
        )
    pair = ds.pair
    ids = [s.id for s in ds.segments]
    timings: dict[str, float] = {}

    forward, back = translate_round_trip(translator, ds.sources, pair, round_trip, chunk_size, progress, ids)
    fwd_out = forward.outputs
    forward.cache = _cache_stats(translator, pair)
    fields, summaries = output_notes(translator, "forward", ds.sources, pair)

    if back is not None:
        rpair = back.pair
        back.cache = _cache_stats(translator, rpair)
        rt_fields, rt_summaries = output_notes(translator, "round_trip", fwd_out, rpair)
        fields.update(rt_fields)
        for key, value in rt_summaries.items():
            summaries.setdefault(key, {}).update(value)

    start = time.perf_counter()
    if ds.ref_names:
        score_direction(forward, ds.reference_streams, specs)
    if back is not None:
        score_direction(back, [ds.sources], specs)
    timings["scoring_s"] = time.perf_counter() - start

    identity = {"name": translator.name, **translator.identity()}
    result = RunResult(
        dataset=ds,
        translator=identity,
        forward=forward,
        round_trip=back,
        copy_rate=copy_rate(ds.sources, fwd_out),
        extras={"timings": timings, "empty_sources": empty, **summaries},
        config=dict(config or {}),
        segment_fields=fields,
    )
    result.extras.update(run_info(translator))  # e.g. {"truncation": {...}} from the neural backends
    if any(s.neural for s in specs):
        start = time.perf_counter()
        apply_neural(result, specs, score_cache_dir)
        timings["comet_s"] = time.perf_counter() - start
    if validity is not None:
        from mtharness.validity.checks import apply_validity  # imports heavy models only when enabled

        start = time.perf_counter()
        apply_validity(result, validity, langid_cache)
        timings["validity_s"] = time.perf_counter() - start
    return result
