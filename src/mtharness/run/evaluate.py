"""evaluate(): translate forward, translate back, score. Plain functions; no Hydra here."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from mtharness.core import CacheCounts, Dataset, DirectionResult, LanguagePair, MtharnessError, RunResult
from mtharness.run.cache import LangIdCache
from mtharness.run.segment_metrics import apply_segment_metrics, check_segment_metrics
from mtharness.run.settings import RunSettings
from mtharness.run.translate import translate_all, translate_direction, translate_round_trip
from mtharness.scoring import metrics as M
from mtharness.translators import base
from mtharness.translators.base import Translator, run_info, translation_cache_counts

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
    sacre = [s for s in specs if not s.segment_mean]  # the others: run.segment_metrics
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


def _cache_counts(translator: Translator, pair: LanguagePair) -> CacheCounts | None:
    return translation_cache_counts(translator).get(str(pair))


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


def validity_preset(name: str) -> dict[str, Any]:
    """configs/validity/NAME.yaml as a dict: the checks ``mtharness run validity=NAME`` applies."""
    from omegaconf import OmegaConf

    from mtharness.host import config_dir

    path = config_dir() / "validity" / f"{name}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in path.parent.glob("*.yaml"))
        raise MtharnessError(f"validity={name!r}: no such preset; known: {known} (or None for no checks)")
    node = OmegaConf.to_container(OmegaConf.load(path), resolve=True)
    assert isinstance(node, dict)
    return {str(k): v for k, v in node.items()}


def evaluate(
    dataset: Dataset,
    translator: Translator,
    metric_specs: Sequence[M.MetricSpec] | None = None,
    *,
    settings: RunSettings | None = None,
    langid_cache: LangIdCache | None = None,
    validity: Mapping[str, Any] | str | None = "default",
    cache_dir: str | None = None,
    **options: Any,
) -> RunResult:
    """Run one system on one dataset: forward (+ scores against references) and the round trip, with
    the same checks and defaults as ``mtharness run``.

    ``settings`` (run.settings.RunSettings) says everything; without it, ``metric_specs`` and the
    keyword ``options`` of RunSettings.build (round_trip, limit, chunk_size, progress, seed,
    score_cache_dir, config) build one, checked the same way `mtharness run` checks its config.
    ``validity``: the checks of ``mtharness run``'s ``validity`` group, by name (``"default"``: language
    ID and the off-target rate, as ``mtharness run`` does; ``"full"``: also semantic similarity and
    document scores) or as a block of settings (missing keys take the defaults); None: no checks.
    ``langid_cache`` keeps language-ID labels across runs (None: detect every time).
    ``cache_dir``: the translation cache and the language-ID labels there, as ``mtharness run``'s
    ``cache.dir`` (``results/cache`` on the command line); None: no cache.
    """
    if settings is not None:
        if metric_specs is not None or options or cache_dir is not None:
            raise TypeError("evaluate(): pass either settings or metric_specs/options, not both")
        return run_settings(dataset, translator, settings, langid_cache)
    if isinstance(validity, str):
        validity = validity_preset(validity)
    if cache_dir is not None:
        from mtharness.run.cache import with_cache

        translator = with_cache(translator, True, cache_dir)
        langid_cache = langid_cache or LangIdCache(cache_dir)
    settings = RunSettings.build(metric_specs, validity=validity, **options)
    return run_settings(dataset, translator, settings, langid_cache)


def run_settings(
    dataset: Dataset, translator: Translator, settings: RunSettings, langid_cache: LangIdCache | None = None
) -> RunResult:
    """evaluate() with checked settings: translate, score, validity checks and model-based metrics."""
    specs = list(settings.metrics)
    # e.g. COMET's environment and checkpoint, or references a metric needs, before translating too
    check_segment_metrics(specs, dataset, settings.round_trip)
    ds = dataset.subset(settings.limit)
    empty = count_empty(ds.sources)
    if empty == len(ds):
        raise MtharnessError(
            f"dataset {ds.name} ({ds.origin or 'no origin'}): every one of its {len(ds)} source segments is "
            "empty; check the source file (dataset.src) or the column/field it is read from"
        )
    pair = ds.pair
    ids = [s.id for s in ds.segments]
    chunk, progress = settings.chunk_size, settings.progress

    forward, back = translate_round_trip(
        translator, ds.sources, pair, settings.round_trip, chunk, progress, ids
    )
    fwd_out = forward.outputs
    forward.cache = _cache_counts(translator, pair)
    fields, summaries = output_notes(translator, "forward", ds.sources, pair)

    if back is not None:
        rpair = back.pair
        back.cache = _cache_counts(translator, rpair)
        rt_fields, rt_summaries = output_notes(translator, "round_trip", fwd_out, rpair)
        fields.update(rt_fields)
        for key, value in rt_summaries.items():
            summaries.setdefault(key, {}).update(value)

    timings: dict[str, float] = {}
    start = time.perf_counter()
    if ds.ref_names:
        score_direction(forward, ds.reference_streams, specs)
    if back is not None:
        score_direction(back, [ds.sources], specs)
    timings["scoring_s"] = time.perf_counter() - start

    result = RunResult(
        dataset=ds,
        translator={"name": translator.name, **translator.identity()},
        forward=forward,
        round_trip=back,
        copy_rate=copy_rate(ds.sources, fwd_out),
        config=dict(settings.config),
        segment_fields=fields,
        empty_sources=empty,
        timings=timings,
        # e.g. {"llm_cleanup": ...} per direction, {"truncation": ...} or {"usage": ...} for the run
        translator_notes={**summaries, **run_info(translator)},
    )
    if any(s.segment_mean for s in specs):
        start = time.perf_counter()
        apply_segment_metrics(result, specs, settings.score_cache_dir)
        timings["comet_s"] = time.perf_counter() - start
    if settings.validity is not None:
        from mtharness.validity.checks import apply_validity  # imports heavy models only when enabled

        start = time.perf_counter()
        apply_validity(result, settings.validity, langid_cache)
        timings["validity_s"] = time.perf_counter() - start
    return result
