"""The one adapter over sacrebleu's private API; no other module touches a sacrebleu ``_name``.

sacrebleu's public ``corpus_score`` does two things we need apart: per-segment sufficient
statistics (``_extract_corpus_statistics``) and a score from their sums (``_aggregate_and_compute``,
``_compute_score_from_stats``). Keeping the statistics is what makes parallel extraction, scoring N
systems against references preprocessed once (``_ref_cache``), bootstrap resampling and paired
tests cheap. Those methods are private, so a sacrebleu release may change them without notice:
every such use is a function here, and tests/scoring/test_sacrebleu_api.py checks each one against
sacrebleu's public ``corpus_score``/``sentence_score`` on fixed inputs and fails loudly, naming the
call, when a release changes what it returns. Verified with the releases in ``VERIFIED_SACREBLEU``;
pyproject.toml allows only those.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sacrebleu.metrics import BLEU, CHRF, TER
from sacrebleu.metrics.base import Metric, Score

# sacrebleu releases this adapter was verified with: [lowest, first unverified) (pyproject agrees)
VERIFIED_SACREBLEU = ("2.6", "2.7")

SufStats = list[list[Any]]  # sufficient statistics: one row of numbers per segment


def check_corpus_args(metric: Metric, hyps: Sequence[str], refs: Sequence[Sequence[str]] | None) -> None:
    """sacrebleu's own input checks of ``corpus_score`` (TypeError on a badly shaped argument)."""
    metric._check_corpus_score_args(hyps, refs)


def set_references(metric: Metric, refs: Sequence[Sequence[str | None]]) -> None:
    """Preprocess ``refs`` (sacrebleu's layout, one list per reference) into the metric's cache.

    ``segment_statistics`` then scores hypotheses against them without preprocessing them again.
    Sets ``metric.num_refs`` as ``corpus_score`` would.
    """
    metric._ref_cache = metric._cache_references([list(r) for r in refs])  # type: ignore[arg-type]


@contextmanager
def references(metric: Metric, refs: Sequence[Sequence[str | None]]) -> Iterator[Metric]:
    """``set_references`` for the duration of a block; the metric's previous cache comes back after."""
    saved = metric._ref_cache
    set_references(metric, refs)
    try:
        yield metric
    finally:
        metric._ref_cache = saved


def segment_statistics(metric: Metric, hyps: Sequence[str]) -> SufStats:
    """Per-segment statistics of ``hyps`` against the cached references (``set_references``)."""
    if not metric._ref_cache and hyps:
        raise ValueError("no references cached for this metric: call set_references first")
    return metric._extract_corpus_statistics(list(hyps), None)


def corpus_score(metric: Metric, sufstats: SufStats) -> Score:
    """The Score ``corpus_score`` returns, from the per-segment statistics (summed by sacrebleu)."""
    return metric._aggregate_and_compute(sufstats)


def score_from_sums(metric: Metric) -> Callable[[Sequence[float]], Score]:
    """The function from one row of summed statistics to a Score (bootstrap and paired tests call it
    thousands of times, so callers get it once)."""
    compute: Callable[[Sequence[float]], Score] = metric._compute_score_from_stats  # type: ignore[assignment]
    return compute


def warns_on_tokenized(metric: Metric) -> bool:
    """BLEU that will warn about hypotheses ending in a tokenized period (force=False)."""
    return isinstance(metric, BLEU) and not metric._force


@contextmanager
def tokenized_warning_off(metrics: Sequence[Metric]) -> Iterator[None]:
    """Silence that warning for a block (workers see chunks; the parent counts the whole corpus)."""
    saved = [(m, m._force) for m in metrics]
    try:
        for m, _ in saved:
            m._force = True
        yield
    finally:
        for m, force in saved:
            m._force = force


def ter_words(metric: TER, text: str) -> list[str]:
    """A hypothesis as TER's edit search sees it: preprocessed (case, punctuation, tokens), split."""
    words: list[str] = metric._preprocess_segment(text).split()
    return words


def ter_reference_words(metric: TER) -> list[list[list[str]]]:
    """The cached references as TER's edit search sees them: [segment][reference] -> words."""
    cache = metric._ref_cache
    if cache is None:
        raise ValueError("no references cached for this metric: call set_references first")
    return [entry["ref_words"] for entry in cache]


def preprocess(metric: Metric, text: str) -> str:
    """A segment as the metric's statistics see it (BLEU: case and tokenizer; chrF: case only)."""
    out: str = metric._preprocess_segment(text)
    return out


def chrf_words(metric: CHRF, text: str) -> list[str]:
    """chrF++'s words of a preprocessed segment (punctuation split off the ends of words)."""
    words: list[str] = metric._remove_punctuation(text)
    return words


def chrf_f_score(metric: CHRF, row: Sequence[int]) -> float:
    """chrF's F-score of one statistics row: what picks the best of several references."""
    f: float = metric._compute_f_score(list(row))
    return f


def one_segment_statistics(metric: Metric, hyp: str, refs: Sequence[str | None]) -> list[Any]:
    """sacrebleu's statistics row of one segment, its references given raw (None: absent).

    The per-segment step of ``_extract_corpus_statistics``, without the metric's cache or num_refs.
    """
    lines = [metric._preprocess_segment(r) for r in refs if r is not None]
    info = metric._extract_reference_info(lines)
    row: list[Any] = metric._compute_segment_statistics(metric._preprocess_segment(hyp), info)
    return row
