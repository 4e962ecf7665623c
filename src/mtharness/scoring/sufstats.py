"""sacrebleu's per-segment sufficient statistics, extracted in parallel chunks.

Every sacrebleu metric (BLEU, chrF, chrF++, TER) scores a corpus in two steps: per-segment statistics
(n-gram matches, edits and lengths) and a function of their sums (both reached through
mtharness.scoring.sacrebleu_api, the one module that uses sacrebleu's private methods). The first step is almost all of the time and each segment depends only
on its own hypothesis and references, so we split the corpus into contiguous chunks, let a pool of
forked worker processes extract the statistics of each chunk with sacrebleu's own methods, and join
the lists back in order. The sum is then sacrebleu's own, over the same list in the same order, so
scores and signatures are identical to ``metric.corpus_score`` (not just close).

Two more savings come for free: references are preprocessed once per chunk and metric and reused for
every system scored against them (sacrebleu's reference cache), and metrics whose statistics coincide
(chrF for a corpus score and for segment scores) are extracted once (see ``sufstats_key``).

TER's statistics come from its edit search, which in sacrebleu is pure Python and dominates any job
that includes TER. On big jobs (``use_fast_ter``) we run the same search compiled with numba
(mtharness.scoring.fastter), which returns sacrebleu's edit counts exactly. Likewise BLEU's and
chrF's n-gram counting (``use_fast_ngram``: mtharness.scoring.fastngram) after sacrebleu's own
tokenizer: the same rows, and no reference Counters at all.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import multiprocessing as mp
from collections.abc import Sequence
from typing import Any

from sacrebleu.metrics import BLEU, CHRF, TER
from sacrebleu.metrics.base import Metric

from mtharness.host import usable_cores
from mtharness.scoring import fastngram, fastter, sacrebleu_api
from mtharness.scoring.sacrebleu_api import SufStats

# Below this much work (segments x systems x metrics, TER counting 4x: its edit search costs ~4x
# chrF per segment) the pool is not worth it. Forking a 2-worker pool and collecting a trivial job
# took 30-90 ms on the 2-core dev machine under load; 1000 units of serial work take ~0.3-1 s there.
MIN_PARALLEL_WORK = 1000
CHUNKS_PER_WORKER = 4  # several chunks per worker even out long and short segments
# A worker holds one chunk's preprocessed references (sacrebleu's n-gram counters: ~10 KB per
# segment and metric) and statistics at a time; bounding the chunk keeps its memory flat however
# long the corpus is (at 1M segments, 4 chunks per worker took ~5 GB in each worker).
MAX_CHUNK_SEGMENTS = 10_000


# The job a forked pool works on. Set in the parent right before the fork, so workers inherit the
# texts and metric objects instead of receiving them pickled; tasks are only (lo, hi) bounds. The
# last fields say whether TER uses the compiled edit search (mtharness.scoring.fastter) and whether
# BLEU and chrF use the compiled n-gram counting (mtharness.scoring.fastngram).
_JOB: tuple[Sequence[Metric], Sequence[Sequence[str]], Sequence[Sequence[str | None]], bool, bool] | None = (
    None
)


def default_workers() -> int:
    """CPU cores this process may use (the affinity mask, where the OS has one)."""
    return usable_cores()


def sufstats_key(metric: Metric) -> tuple[Any, ...]:
    """Two metrics with equal keys produce equal per-segment statistics on the same inputs.

    BLEU's smoothing and effective order, and the chrF beta's use in the final F-score, only enter
    the aggregation step; what the statistics depend on is listed here.
    """
    if isinstance(metric, BLEU):
        return ("bleu", metric.tokenizer_signature, metric.lowercase, metric.max_ngram_order)
    if isinstance(metric, CHRF):
        # beta and eps_smoothing choose the best of several references per segment
        return (
            "chrf",
            metric.char_order,
            metric.word_order,
            metric.beta,
            metric.lowercase,
            metric.whitespace,
            metric.eps_smoothing,
        )
    if isinstance(metric, TER):
        return ("ter", metric.tokenizer_signature, metric.no_punct, metric.asian_support)
    return ("object", id(metric))


def count_refs(refs: Sequence[Sequence[str | None]]) -> int:
    """The signature's ``nrefs`` exactly as sacrebleu's ``_cache_references`` decides it (-1: var)."""
    counts = {sum(1 for r in seg if r is not None) for seg in zip(*refs, strict=True)}
    return counts.pop() if len(counts) == 1 else -1


def use_fast_ter(metrics: Sequence[Metric], systems: Sequence[Sequence[str]]) -> bool:
    """TER is among the metrics and its hypotheses are work enough to repay loading numba."""
    n_ter = sum(1 for m in metrics if isinstance(m, TER))
    if not n_ter:
        return False
    return fastter.worth_it(n_ter * sum(fastter.work(hyps) for hyps in systems))


def use_fast_ngram(metrics: Sequence[Metric], systems: Sequence[Sequence[str]]) -> bool:
    """BLEU or chrF is among the metrics and the hypotheses are work enough to repay loading numba."""
    n_ngram = sum(1 for m in metrics if fastngram.applies(m))
    if not n_ngram:
        return False
    return fastngram.worth_it(n_ngram * fastngram.work(systems))


def _chunk(
    metric: Metric,
    systems: Sequence[Sequence[str]],
    refs: Sequence[Sequence[str | None]],
    lo: int,
    hi: int,
    fast: tuple[bool, bool],
) -> list[SufStats]:
    """[system] -> statistics of segments lo:hi (references preprocessed once for all systems)."""
    chunk_refs = [list(r[lo:hi]) for r in refs]
    if fast[1] and fastngram.applies(metric):
        return fastngram.statistics(metric, [h[lo:hi] for h in systems], chunk_refs)
    with sacrebleu_api.references(metric, chunk_refs):  # a caller's cache (Scorer) survives
        return [statistics(metric, h[lo:hi], fast[0]) for h in systems]


def statistics(metric: Metric, hyps: Sequence[str], fast_ter: bool) -> SufStats:
    """sacrebleu's per-segment statistics against the cached references; TER's edit search compiled
    if fast_ter."""
    if fast_ter and isinstance(metric, TER):
        return fastter.segment_statistics(metric, hyps)
    return sacrebleu_api.segment_statistics(metric, hyps)


def _weight(metric: Metric, fast_ngram: bool) -> float:
    if isinstance(metric, TER):
        return 4
    if fast_ngram and fastngram.applies(metric):
        # compiled counting leaves BLEU its tokenizer (~1/5 of sacrebleu's time), chrF ~1/20
        return 0.2 if isinstance(metric, BLEU) else 0.05
    return 1


def _work(metrics: Sequence[Metric], n_systems: int, n_segments: int, fast_ngram: bool = False) -> int:
    return int(sum(_weight(m, fast_ngram) for m in metrics) * n_systems * n_segments)


def _chunk_sufstats(bounds: tuple[int, int]) -> list[list[SufStats]]:
    """Worker: [metric][system] -> statistics of segments lo:hi (references preprocessed once)."""
    assert _JOB is not None, "the pool was not forked from extract_statistics"
    metrics, systems, refs, fast_ter, fast_ngram = _JOB
    lo, hi = bounds
    # the worker owns its forked copy of the metric, so the cache is private to it; dropped after
    # the metric so that only one metric's preprocessed references are alive at a time
    return [_chunk(metric, systems, refs, lo, hi, (fast_ter, fast_ngram)) for metric in metrics]


def _serial(
    metrics: Sequence[Metric],
    systems: Sequence[Sequence[str]],
    refs: Sequence[Sequence[str | None]],
    fast_ter: bool,
    fast_ngram: bool = False,
) -> list[list[SufStats]]:
    out: list[list[SufStats]] = [[[] for _ in systems] for _ in metrics]
    n = len(refs[0])
    if n <= MAX_CHUNK_SEGMENTS:  # one chunk: sacrebleu's own call, its own warning
        chunked: contextlib.AbstractContextManager[None] = contextlib.nullcontext()
        if fast_ngram:  # but the compiled counting does not warn: count here
            _warn_tokenized([m for m in metrics if fastngram.applies(m)], systems)
    else:
        _warn_tokenized(metrics, systems)
        chunked = sacrebleu_api.tokenized_warning_off(metrics)
    with chunked:
        for lo in range(0, n, MAX_CHUNK_SEGMENTS):  # bounded memory, as in the workers
            hi = lo + MAX_CHUNK_SEGMENTS
            for i, metric in enumerate(metrics):
                for j, rows in enumerate(_chunk(metric, systems, refs, lo, hi, (fast_ter, fast_ngram))):
                    out[i][j].extend(rows)
    return out


def _bounds(n: int, parts: int) -> list[tuple[int, int]]:
    parts = max(1, min(parts, n))
    edges = [round(i * n / parts) for i in range(parts + 1)]
    return [(lo, hi) for lo, hi in itertools.pairwise(edges) if hi > lo]


def _warn_tokenized(metrics: Sequence[Metric], systems: Sequence[Sequence[str]]) -> None:
    # sacrebleu's BLEU warns once 100 hypotheses end in " ."; workers see only chunks, so count here
    if any(sacrebleu_api.warns_on_tokenized(m) for m in metrics):
        for hyps in systems:
            if sum(1 for h in hyps if h.endswith(" .")) >= 100:
                logging.getLogger("sacrebleu").warning(
                    "That's 100 lines that end in a tokenized period ('.'); "
                    "detokenize your data or pass force=True"
                )


def can_fork() -> bool:
    """A fork pool is possible: the platform forks, and we are not a daemonic pool worker."""
    return "fork" in mp.get_all_start_methods() and not mp.current_process().daemon


def extract_statistics(
    metrics: Sequence[Metric],
    systems: Sequence[Sequence[str]],
    refs: Sequence[Sequence[str | None]],
    workers: int | None = None,
) -> list[list[SufStats]]:
    """[metric][system] -> per-segment statistics, equal to sacrebleu's own (``corpus_score``'s first step).

    ``workers=None`` uses every core when the job is big enough to repay the pool's start-up,
    ``workers=1`` never forks. Each metric's ``num_refs`` is set as sacrebleu sets it, so
    ``get_signature()`` and ``sacrebleu_api.corpus_score`` work on the result.
    """
    n = len(refs[0]) if refs else 0
    for i, hyps in enumerate(systems):
        if len(hyps) != n:
            raise ValueError(f"system {i} has {len(hyps)} segments, the references {n}")
    nrefs = count_refs(refs) if n else 1
    for metric in metrics:
        metric.num_refs = nrefs
    if n == 0 or not systems or not metrics:
        return [[[] for _ in systems] for _ in metrics]
    n_workers = default_workers() if workers is None else max(1, workers)
    fast_ter = use_fast_ter(metrics, systems)  # compiled here, before any fork
    fast_ngram = use_fast_ngram(metrics, systems)
    big = workers is not None or _work(metrics, len(systems), n, fast_ngram) >= MIN_PARALLEL_WORK
    if n_workers == 1 or not big or not can_fork() or n < 2:
        return _serial(metrics, systems, refs, fast_ter, fast_ngram)

    _warn_tokenized(metrics, systems)
    # workers get their own copy of the metric: quiet the per-chunk warning there, keep the parent's
    global _JOB
    _JOB = (metrics, systems, refs, fast_ter, fast_ngram)
    try:
        with (
            sacrebleu_api.tokenized_warning_off(metrics),
            mp.get_context("fork").Pool(min(n_workers, n)) as pool,
        ):
            parts = max(n_workers * CHUNKS_PER_WORKER, -(-n // MAX_CHUNK_SEGMENTS))
            chunks = pool.imap(_chunk_sufstats, _bounds(n, parts), chunksize=1)
            out: list[list[SufStats]] = [[[] for _ in systems] for _ in metrics]
            for chunk in chunks:  # joined as they come (in order): one chunk's rows in flight at a time
                for i, per_system in enumerate(chunk):
                    for j, rows in enumerate(per_system):
                        out[i][j].extend(rows)
    finally:
        _JOB = None
    return out
