"""The metric protocol: what every metric declares about itself, and the two ways metrics score.

A metric is an object with an ``info`` (``MetricInfo``: names, direction, range, display precision,
needs, aggregation) and, by its aggregation, one of two scoring routes:

- ``corpus_statistics`` (sacrebleu's BLEU, chrF, chrF++, TER): ``make(args, trg_lang)`` returns the
  sacrebleu object; the corpus score comes from summed per-segment sufficient statistics, and CIs and
  paired tests resample those statistics (``scoring.metrics``, ``scoring.significance``).
- ``segment_mean`` (COMET, CometKiwi, a metric of your own): ``open(args, cache_dir)`` returns a
  ``SegmentScorer`` whose system score is the mean of its segment scores; CIs and paired tests
  resample the segment scores (``scoring.means``).

Everything else (run, compare, gate, leaderboard, reports) asks the metric, or the score it made
(``core.MetricResult`` carries ``higher_is_better`` and ``precision``), and never tests for a name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal, Protocol, runtime_checkable

from mtharness.core import MetricResult, MtharnessError

Aggregation = Literal["corpus_statistics", "segment_mean"]
CORPUS_STATISTICS: Aggregation = "corpus_statistics"
SEGMENT_MEAN: Aggregation = "segment_mean"


@dataclass(frozen=True)
class MetricInfo:
    """What a metric declares; the registry and every command read it, nothing re-derives it."""

    kind: str  # the config name: metrics=[kind], configs/metrics/<kind>.yaml
    score_name: str  # the key in scores.json (sacrebleu's name for its metrics: BLEU, chrF2, TER)
    higher_is_better: bool
    precision: int = 2  # decimals shown in every table, summary and message
    range: tuple[float | None, float | None] = (None, None)  # (lo, hi); None: unbounded
    aliases: tuple[str, ...] = ()  # other names users may type (any case)
    options: tuple[str, ...] | None = None  # the config keys it takes; None: the sacrebleu class's
    needs_source: bool = False
    needs_references: bool = True  # False: scores a dataset without references (quality estimation)
    managed_env: str | None = None  # `mtharness env setup <name>` builds what it runs in
    gpu: bool = False  # can run on a GPU (a `device` option)
    aggregation: Aggregation = SEGMENT_MEAN
    # segment-level analysis (compare's wins/losses, worst segments): this metric's segment scores
    # rank single segments well (chrF); BLEU on one segment is too coarse
    segment_analysis: bool = False
    sentence_effective_order: bool = False  # a single segment is scored with effective order (BLEU)

    @property
    def resampling(self) -> str:
        """How CIs and paired tests resample it: sacrebleu's sufficient statistics, or segment means."""
        return "sufficient_statistics" if self.aggregation == CORPUS_STATISTICS else "segment_means"

    def names(self) -> tuple[str, ...]:
        """Every name that means this metric, lower-cased."""
        return tuple(dict.fromkeys(n.lower() for n in (self.kind, self.score_name, *self.aliases)))

    def result(self, score: float, signature: str, extra: dict[str, Any] | None = None) -> MetricResult:
        """A score of this metric: it carries the metric's direction and precision along."""
        extra = dict(extra or {})
        if self.aggregation == SEGMENT_MEAN:  # unrounded: the exact mean of the stored segment scores,
            extra.setdefault("score", score)  # which the gate and compare re-check
        return MetricResult(self.score_name, score, signature, self.higher_is_better, extra, self.precision)


class SegmentScorer(Protocol):
    """A segment-mean metric opened for a run or comparison (a model loaded once, a cache)."""

    def score(
        self, sources: Sequence[str], hyps: Sequence[str], refs: Sequence[str] | None
    ) -> tuple[MetricResult, list[float]]:
        """The system score (the mean) and each segment's score; refs None where not needed."""
        ...

    def report(self) -> dict[str, dict[str, Any]]:
        """Counters for scores.json, by top-level key (COMET: {"comet_cache": {hits, misses, ...}})."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class SpanScorer(Protocol):
    """Optional, beside ``SegmentScorer``: a scorer that also marks error spans (xCOMET).

    ``spans()`` gives, for each segment of the last ``score()`` call, a list of
    {text, start, end, severity, confidence}; runs store them in segments.jsonl.
    """

    def spans(self) -> list[list[dict[str, Any]]]: ...


@runtime_checkable
class SystemSpanScorer(Protocol):
    """Optional, beside ``MultiSystemScorer``: each system's error spans from the last ``score_systems()``
    call, per segment as ``SpanScorer.spans()`` gives them for one system (xCOMET)."""

    def system_spans(self) -> dict[str, list[list[dict[str, Any]]]]: ...


@runtime_checkable
class DirectionAware(Protocol):
    """Optional, beside ``SegmentScorer``: a scorer told which direction it scores next (an LLM
    judge names the languages in its prompt and counts failures per direction)."""

    def set_direction(self, direction: str, src: str, tgt: str) -> None: ...


@runtime_checkable
class MultiSystemScorer(Protocol):
    """Optional, beside ``SegmentScorer``: several systems on the same sources and references at once.

    A model that can share work between systems (COMET encodes each distinct source and reference
    once for all of them) implements it; callers fall back to ``score()`` per system otherwise.
    Each system's result and segment scores equal what ``score()`` gives it alone.
    """

    def score_systems(
        self, sources: Sequence[str], systems: Mapping[str, Sequence[str]], refs: Sequence[str] | None
    ) -> dict[str, tuple[MetricResult, list[float]]]: ...


class Metric:
    """Base of every metric: ``info`` plus the checks every metric gets for free."""

    info: ClassVar[MetricInfo]

    def check_args(self, args: Mapping[str, Any]) -> None:
        """A misspelt key fails before any work (metrics.<kind>.<key>)."""
        if self.info.options is None:
            return
        unknown = sorted(set(args) - set(self.info.options))
        if unknown:
            known = ", ".join(self.info.options) or "none"
            raise MtharnessError(f"metrics.{self.info.kind}: unknown key(s) {unknown}; known: {known}")

    def needs_references_for(self, args: Mapping[str, Any]) -> bool:
        """Whether these settings need references (MetricX: mode=ref yes, mode=qe no)."""
        return self.info.needs_references

    def scores_round_trip(self, args: Mapping[str, Any]) -> bool:
        """Whether a run scores the round trip with it too (an LLM judge: only when asked)."""
        return True

    def check_ready(self, args: Mapping[str, Any]) -> None:
        """Before translating: what the metric needs (an environment, a checkpoint) is there."""
        self.check_args(args)


class SegmentMetric(Metric):
    """A metric whose system score is the mean of its segment scores.

    A simple one implements ``segment_scores`` and ``signature``; a model-based one (COMET) overrides
    ``open`` to load its model once and cache segment scores.
    """

    def segment_scores(
        self, args: Mapping[str, Any], sources: Sequence[str], hyps: Sequence[str], refs: Sequence[str] | None
    ) -> list[float]:
        raise NotImplementedError(f"{type(self).__name__}: implement segment_scores or open")

    def signature(self, args: Mapping[str, Any]) -> str:
        """Everything that decides the number (name, version, settings)."""
        settings = "|".join(f"{k}:{args[k]}" for k in sorted(args))
        return f"{self.info.kind}" + (f"|{settings}" if settings else "")

    def open(self, args: Mapping[str, Any], cache_dir: str | Path | None) -> SegmentScorer:
        self.check_args(args)
        return _PlainScorer(self, dict(args))


class _PlainScorer:
    """``SegmentMetric.segment_scores`` as a scorer: nothing to load, nothing cached."""

    def __init__(self, metric: SegmentMetric, args: dict[str, Any]) -> None:
        self.metric, self.args = metric, args
        self.counts: dict[str, int] = {"segments": 0}

    def score(
        self, sources: Sequence[str], hyps: Sequence[str], refs: Sequence[str] | None
    ) -> tuple[MetricResult, list[float]]:
        scores = [float(s) for s in self.metric.segment_scores(self.args, sources, hyps, refs)]
        if len(scores) != len(hyps):
            raise MtharnessError(
                f"metric {self.metric.info.kind} gave {len(scores)} segment scores for {len(hyps)} segments"
            )
        self.counts["segments"] += len(scores)
        mean = sum(scores) / len(scores) if scores else 0.0
        return self.metric.info.result(mean, self.metric.signature(self.args)), scores

    def report(self) -> dict[str, dict[str, Any]]:
        return {}

    def close(self) -> None:
        pass
