"""evaluate(): translate forward, translate back, score. Plain functions; no Hydra here."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from tqdm.auto import tqdm

from mtharness.core import Dataset, Direction, DirectionResult, LanguagePair, MtharnessError, RunResult
from mtharness.run.cache import LangIdCache
from mtharness.run.neural import apply_neural, check_neural
from mtharness.scoring import metrics as M
from mtharness.translators import base
from mtharness.translators.base import SegmentFailed, Translator, check_outputs, run_info, translation_stats

TICK_S = 1.0  # a terminal's bar is redrawn this often (elapsed time moves) while a batch decodes


@contextmanager
def _ticking(bar: Any, every: float) -> Iterator[None]:
    """Redraw the bar every ``every`` seconds from a helper thread, so a long batch still shows the
    clock moving; only on a terminal (a log file would fill with redraws)."""
    stop = threading.Event()

    def tick() -> None:
        while not stop.wait(every):
            bar.refresh()

    thread = threading.Thread(target=tick, name="mtharness-progress", daemon=True)
    if not bar.disable and getattr(bar.fp, "isatty", lambda: False)():
        thread.start()
    try:
        yield
    finally:
        stop.set()
        if thread.is_alive():
            thread.join()


def translate_all(
    translator: Translator,
    texts: Sequence[str],
    src: str,
    tgt: str,
    chunk_size: int = 256,
    progress: bool = True,
    desc: str = "",
    ids: Sequence[str] | None = None,
) -> list[str]:
    """Translate in chunks, so a cache can persist finished chunks, with a progress bar.

    The bar advances as the backend reports finished batches (base.set_progress: hf, ct2, llm, and
    cache hits at once), else once per chunk; reporting never changes which segments are batched.
    ``ids`` (the segment ids, aligned with ``texts``) name the segment in a backend's failure.
    """
    outputs: list[str] = []
    size = max(1, chunk_size)
    bar = tqdm(
        total=len(texts), desc=desc or f"{src}->{tgt}", unit="seg", disable=not progress, mininterval=0.5
    )
    with bar, _ticking(bar, TICK_S):
        for start in range(0, len(texts), size):
            chunk = list(texts[start : start + size])
            done = 0

            def advance(n: int, limit: int = len(chunk)) -> None:
                nonlocal done
                n = min(n, limit - done)  # never past this chunk, whatever a backend reports
                if n > 0:
                    done += n
                    bar.update(n)

            advance.status = bar.set_postfix_str  # type: ignore[attr-defined]  # retries and waits
            base.set_progress(translator, advance if progress else None)
            try:
                out = translator.translate(chunk, src, tgt)
            except SegmentFailed as exc:
                index = start + chunk.index(exc.text) if exc.text in chunk else None
                name = ids[index] if ids is not None and index is not None else index
                raise exc.at(f"segment {name} ({src}->{tgt})") from None
            finally:
                base.set_progress(translator, None)
            outputs.extend(check_outputs(translator.name, chunk, out))
            bar.update(len(chunk) - done)
    return outputs


def translate_direction(
    translator: Translator,
    direction: Direction,
    texts: Sequence[str],
    pair: LanguagePair,
    chunk_size: int = 256,
    progress: bool = True,
    desc: str = "",
    ids: Sequence[str] | None = None,
) -> DirectionResult:
    """One direction, timed in two parts: ``load_seconds`` (base.prepare: loading or converting the
    model) and ``seconds`` (translating only), so sentences/s measures translation, not loading."""
    start = time.perf_counter()
    base.prepare(translator, texts, pair.src, pair.tgt)
    loaded = time.perf_counter()
    outputs = translate_all(translator, texts, pair.src, pair.tgt, chunk_size, progress, desc, ids)
    done = time.perf_counter()
    return DirectionResult(direction, pair, outputs, seconds=done - loaded, load_seconds=loaded - start)


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


def validity_preset(name: str) -> dict[str, Any]:
    """configs/validity/NAME.yaml as a dict: the checks ``mtharness run validity=NAME`` applies."""
    from omegaconf import OmegaConf

    from mtharness.core import config_dir

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
    round_trip: bool = True,
    limit: int | None = None,
    chunk_size: int = 256,
    progress: bool = True,
    config: dict[str, Any] | None = None,
    validity: Mapping[str, Any] | str | None = "default",
    langid_cache: LangIdCache | None = None,
    score_cache_dir: str | None = None,
    cache_dir: str | None = None,
) -> RunResult:
    """Run one system on one dataset: forward (+ scores against references) and the round trip.

    ``validity``: the checks of ``mtharness run``'s ``validity`` group, by name (``"default"``: language
    ID and the off-target rate, as ``mtharness run`` does; ``"full"``: also semantic similarity and
    document scores) or as a block of settings (missing keys take the defaults); None: no checks.
    ``langid_cache`` keeps language-ID labels across runs (None: detect every time).
    ``score_cache_dir`` holds comet.sqlite, the COMET segment scores (None: nothing kept).
    ``cache_dir``: the translation cache and the language-ID labels there, as ``mtharness run``'s
    ``cache.dir`` (``results/cache`` on the command line); None: no cache.
    """
    specs = list(metric_specs) if metric_specs is not None else M.parse_specs(None)
    if isinstance(validity, str):
        validity = validity_preset(validity)
    if cache_dir is not None:
        from mtharness.run.cache import with_cache

        translator = with_cache(translator, True, cache_dir)
        langid_cache = langid_cache or LangIdCache(cache_dir)
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

    forward = translate_direction(
        translator, "forward", ds.sources, pair, chunk_size, progress, f"forward {pair}", ids
    )
    fwd_out = forward.outputs
    forward.cache = _cache_stats(translator, pair)
    fields, summaries = output_notes(translator, "forward", ds.sources, pair)

    back: DirectionResult | None = None
    if round_trip:
        rpair = pair.reversed()
        back = translate_direction(
            translator, "round_trip", fwd_out, rpair, chunk_size, progress, f"back {rpair}", ids
        )
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
