"""sacrebleu metrics with their signatures and directions kept together.

Every metric here is a thin wrapper: sacrebleu computes the numbers, we only choose the
target-language-aware defaults and carry the signature and ``higher_is_better`` along.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sacrebleu.metrics import BLEU, CHRF, TER
from sacrebleu.metrics.base import Metric

from mtharness.core import DEFAULT_PRECISION, MetricResult, MtharnessError
from mtharness.scoring import registry, sacrebleu_api
from mtharness.scoring.means import MeanMetric
from mtharness.scoring.protocol import CORPUS_STATISTICS, MetricInfo, SegmentMetric
from mtharness.scoring.sacrebleu_api import SufStats
from mtharness.scoring.sacrebleu_metrics import ASIAN_LANGS, SacrebleuMetric
from mtharness.scoring.sufstats import extract_statistics, sufstats_key

__all__ = ["ASIAN_LANGS", "DEFAULT_METRICS", "MetricSpec", "canonical_metric", "parse_specs"]

DEFAULT_METRICS = ("bleu", "chrf", "chrfpp", "ter")
ALL_KINDS = tuple(registry.BUILTIN)  # every shipped kind `metrics=[...]` and `--metrics` accept
KNOWN_METRIC_NAMES = (
    "bleu (BLEU), chrf (chrF, chrF2), chrfpp (chrF++, chrF2++), ter (TER), comet (COMET), "
    "cometkiwi (CometKiwi), in any case"
)

# sacrebleu command-line options (its own names) -> (metric kinds they configure, constructor argument).
# `compare` and `gate` offer exactly these; `run` sets the same arguments as metrics.<kind>.<argument>.
SACREBLEU_OPTIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "tokenize": (("bleu",), "tokenize"),
    "lowercase": (("bleu",), "lowercase"),
    "smooth_method": (("bleu",), "smooth_method"),
    "smooth_value": (("bleu",), "smooth_value"),
    "force": (("bleu",), "force"),
    "chrf_char_order": (("chrf", "chrfpp"), "char_order"),
    "chrf_word_order": (("chrf", "chrfpp"), "word_order"),
    "chrf_beta": (("chrf", "chrfpp"), "beta"),
    "chrf_whitespace": (("chrf", "chrfpp"), "whitespace"),
    "chrf_lowercase": (("chrf", "chrfpp"), "lowercase"),
    "chrf_eps_smoothing": (("chrf", "chrfpp"), "eps_smoothing"),
    "ter_normalized": (("ter",), "normalized"),
    "ter_case_sensitive": (("ter",), "case_sensitive"),
    "ter_no_punct": (("ter",), "no_punct"),
    "ter_asian_support": (("ter",), "asian_support"),
}


def canonical_metric(name: str) -> str:
    """The metric kind (bleu, chrf, chrfpp, ter, comet, ...) a user's name stands for; one line if unknown.

    The one resolver every command uses, so a name that works in one place works in all.
    """
    kind = registry.resolve(name)
    if kind is None:
        plugins = registry.plugin_kinds()
        more = f", {', '.join(plugins)}" if plugins else ""
        raise MtharnessError(f"unknown metric {name!r}; known names: {KNOWN_METRIC_NAMES}{more}")
    return kind


def metric_kind_or_none(name: str) -> str | None:
    """canonical_metric, but None for a name that is not a metric (a rate, a pattern, chrF3)."""
    return registry.resolve(name)


def apply_options(specs: Sequence[MetricSpec], options: Mapping[str, Any]) -> list[MetricSpec]:
    """Specs with sacrebleu's command-line options (SACREBLEU_OPTIONS keys; None = not given) applied."""
    unknown = sorted(set(options) - set(SACREBLEU_OPTIONS))
    if unknown:
        raise MtharnessError(f"unknown sacrebleu option(s) {unknown}; known: {sorted(SACREBLEU_OPTIONS)}")
    out = []
    for spec in specs:
        args = dict(spec.args)
        for option, value in options.items():
            kinds, arg = SACREBLEU_OPTIONS[option]
            if value is not None and spec.kind in kinds:
                args[arg] = value
        out.append(MetricSpec(spec.kind, args))
    return out


@dataclass(frozen=True)
class MetricSpec:
    """A metric kind plus sacrebleu constructor arguments (1:1 with sacrebleu's own names)."""

    kind: str
    args: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", canonical_metric(self.kind))  # chrF2 -> chrf, BLEU -> bleu

    @property
    def info(self) -> MetricInfo:
        """What the metric declares (direction, precision, needs, aggregation)."""
        return registry.get(self.kind).info

    @property
    def higher_is_better(self) -> bool:
        return self.info.higher_is_better

    @property
    def segment_mean(self) -> bool:
        """Scored as a mean of segment scores (COMET-style) rather than from sacrebleu's statistics."""
        return self.info.aggregation != CORPUS_STATISTICS

    def segment_metric(self) -> SegmentMetric:
        metric = registry.get(self.kind)
        if not isinstance(metric, SegmentMetric):
            raise MtharnessError(f"metric {self.kind} is not scored as a mean of segment scores")
        return metric


def parse_specs(config: Mapping[str, Any] | Sequence[str] | None) -> list[MetricSpec]:
    """From the ``metrics`` config node ({key: {metric: kind, ...args}}) or a list of kinds.

    A node with ``_target_`` (a metric outside the package, configs/metrics/<key>.yaml under
    --config-dir) registers that metric first; its other keys are the metric's arguments.
    """
    if not config:
        return [MetricSpec(k) for k in DEFAULT_METRICS]
    if isinstance(config, Mapping):
        specs = []
        for key, node in config.items():
            args = dict(node or {})
            if args.get("_target_"):
                args["metric"] = registry.from_config(str(key), args)
            args.pop("_target_", None)
            kind = args.pop("metric", key)
            specs.append(MetricSpec(str(kind), {k: v for k, v in args.items() if v is not None}))
        return specs
    specs = [MetricSpec(str(k)) for k in config]
    return [s for i, s in enumerate(specs) if s not in specs[:i]]  # chrf and chrF2 are one metric


def make_metric(spec: MetricSpec, trg_lang: str) -> Metric:
    """Instantiate the sacrebleu metric for one target language."""
    metric = registry.get(spec.kind)
    if not isinstance(metric, SacrebleuMetric):
        raise MtharnessError(f"metric {spec.kind} is not a sacrebleu metric (its scorer scores it)")
    return metric.make(spec.args, trg_lang)


@dataclass(frozen=True, eq=False)  # eq=False: identity equality (numpy arrays have no truth value)
class SystemStats:
    """One system's per-segment sufficient statistics for one metric, plus its corpus score.

    The corpus score is sacrebleu's own aggregation over the full, ordered list of statistics: what
    ``corpus_score`` returns. Bootstrap resamples and paired tests (scoring.significance) reuse the
    statistics instead of tokenising the text again.
    """

    name: str
    metric_name: str  # sacrebleu's score name: BLEU, chrF2, chrF2++, TER
    score: float
    signature: str
    higher_is_better: bool
    sufstats: np.ndarray = field(repr=False)  # (n_segments, n_statistics), float64
    metric: Metric | MeanMetric = field(repr=False, compare=False)  # MeanMetric: COMET-style means
    # (method, n_samples, seed) -> resampled corpus scores; filled lazily by scoring.significance
    resampled: dict[tuple[str, int, int], np.ndarray] = field(default_factory=dict, repr=False, compare=False)
    precision: int = DEFAULT_PRECISION  # the metric's display precision (COMET 4)

    def __len__(self) -> int:
        return int(self.sufstats.shape[0])

    def segment_scores(self) -> list[float]:
        """Each segment scored alone from its own statistics (chrF equals sentence_score)."""
        compute = score_function(self.metric)
        return [float(compute(row).score) for row in self.sufstats]

    def result(self) -> MetricResult:
        """The corpus score with its signature, as run folders and tables carry it."""
        return MetricResult(
            self.metric_name, self.score, self.signature, self.higher_is_better, precision=self.precision
        )


def score_function(metric: Metric | MeanMetric) -> Callable[[Sequence[float]], Any]:
    """Summed statistics -> an object with ``.score``: sacrebleu's for its metrics, the mean for COMET."""
    if isinstance(metric, MeanMetric):
        return metric.score_of_sums
    return sacrebleu_api.score_from_sums(metric)


def system_stats_from_raw(name: str, spec: MetricSpec, metric: Metric, raw: SufStats) -> SystemStats:
    """Wrap statistics sacrebleu extracted (here or in a worker process) with score and signature."""
    score = sacrebleu_api.corpus_score(metric, raw)  # exactly what corpus_score returns
    return SystemStats(
        name=name,
        metric_name=score.name,
        score=float(score.score),
        signature=metric.get_signature().format(),
        higher_is_better=spec.higher_is_better,
        precision=spec.info.precision,
        sufstats=np.asarray(raw, dtype=np.float64).reshape(len(raw), -1),
        metric=metric,
    )


# TER's edit distance fills a (hypothesis words x reference words) table per segment: 10,000 words
# against 10,000 is ~1 GB in the compiled kernel and far more in sacrebleu's Python lists
MAX_TER_CELLS = 100_000_000


def check_ter_size(
    metrics: Sequence[Metric], systems: Sequence[Sequence[str]], refs: Sequence[Sequence[str | None]]
) -> None:
    """Refuse, before any scoring, a segment too long for TER (a whole document on one line)."""
    if not any(isinstance(m, TER) for m in metrics) or not refs:
        return
    ref_chars = [max(len(r[i] or "") for r in refs) for i in range(len(refs[0]))]
    for hyps in systems:
        for i, hyp in enumerate(hyps):
            if (len(hyp) + 1) * (ref_chars[i] + 1) <= MAX_TER_CELLS:  # words never outnumber characters
                continue
            n_hyp = len(hyp.split())
            n_ref = max(len((r[i] or "").split()) for r in refs)
            if (n_hyp + 1) * (n_ref + 1) > MAX_TER_CELLS:
                raise MtharnessError(
                    f"segment {i + 1}: TER would align {n_hyp:,} hypothesis words with {n_ref:,} reference "
                    f"words (more than {MAX_TER_CELLS:,} table cells; out of memory); is a whole document on "
                    "one line? split it into sentences, or score without TER (metrics=[bleu,chrf,chrfpp])"
                )


def check_inputs(systems: Mapping[str, Sequence[str]], refs: Sequence[Sequence[str]]) -> int:
    """The number of segments; one-line errors for missing references or misaligned systems."""
    if not refs:
        raise MtharnessError("scoring needs at least one reference stream")
    lengths = {len(r) for r in refs}
    if len(lengths) != 1:
        raise MtharnessError(f"reference streams differ in length: {sorted(lengths)}")
    n = lengths.pop()
    for name, hyps in systems.items():
        if len(hyps) != n:
            raise MtharnessError(f"system {name}: {len(hyps)} lines but the references have {n}")
    return n


def _unique_statistics(
    metrics: Sequence[Metric],
    systems: Sequence[Sequence[str]],
    refs: Sequence[Sequence[str]],
    workers: int | None,
) -> list[list[SufStats]]:
    """extract_statistics, once per distinct sufstats_key (chrF for corpus and segment scores)."""
    check_ter_size(metrics, systems, refs)
    for hyps in systems:
        for metric in metrics:
            if hyps:
                sacrebleu_api.check_corpus_args(metric, hyps, refs)  # sacrebleu's own input errors
    keys = [sufstats_key(m) for m in metrics]
    first = {k: metrics[i] for i, k in reversed(list(enumerate(keys)))}
    unique = list(first.values())
    sufstats = dict(zip(first, extract_statistics(unique, systems, refs, workers), strict=True))
    for m, k in zip(metrics, keys, strict=True):
        m.num_refs = first[k].num_refs
    return [sufstats[k] for k in keys]


def system_statistics(
    specs: Sequence[MetricSpec],
    systems: Mapping[str, Sequence[str]],
    refs: Sequence[Sequence[str]],
    trg_lang: str,
    workers: int | None = None,
) -> list[dict[str, SystemStats]]:
    """[spec][system name] -> statistics and corpus score: THE way to score N systems.

    References are preprocessed once for all systems, metrics with equal statistics share one
    extraction, and big jobs are split over ``workers`` forked processes (None: every core when the
    job repays it; 1: never fork). Each score and signature equals sacrebleu's corpus_score.
    """
    check_inputs(systems, refs)
    names = list(systems)
    metrics = [make_metric(s, trg_lang) for s in specs]
    sufstats = _unique_statistics(metrics, [systems[n] for n in names], refs, workers)
    return [
        {n: system_stats_from_raw(n, spec, m, sufstats[i][j]) for j, n in enumerate(names)}
        for i, (spec, m) in enumerate(zip(specs, metrics, strict=True))
    ]


def score_systems(
    specs: Sequence[MetricSpec],
    systems: Sequence[Sequence[str]],
    refs: Sequence[Sequence[str]],
    trg_lang: str,
    workers: int | None = None,
) -> list[list[MetricResult]]:
    """[system][spec] corpus scores with signatures: ``system_statistics`` without the statistics."""
    per_spec = system_statistics(specs, {str(j): h for j, h in enumerate(systems)}, refs, trg_lang, workers)
    return [[per_spec[i][str(j)].result() for i in range(len(specs))] for j in range(len(systems))]


def corpus_score(
    spec: MetricSpec, hyps: Sequence[str], refs: Sequence[Sequence[str]], trg_lang: str
) -> MetricResult:
    """Corpus-level score of ``hyps`` against reference streams ``refs`` (sacrebleu's layout)."""
    return score_systems([spec], [hyps], refs, trg_lang)[0][0]


def direction_scores(
    specs: Sequence[MetricSpec],
    hyps: Sequence[str],
    refs: Sequence[Sequence[str]],
    trg_lang: str,
    workers: int | None = None,
) -> tuple[list[MetricResult], dict[str, list[float]]]:
    """Corpus scores for ``specs`` and the segment scores of ``segment_scores``, in one pass.

    Segment chrF/BLEU come from the same per-segment statistics a corpus chrF/BLEU with default
    arguments needs, so they cost nothing extra when those are requested.
    """
    check_inputs({"output": hyps}, refs)
    metrics = [make_metric(s, trg_lang) for s in specs]
    seg_metrics = _segment_metrics(trg_lang)
    all_sufstats = _unique_statistics([*metrics, *seg_metrics.values()], [hyps], refs, workers)
    results = [
        system_stats_from_raw("output", s, m, st[0]).result()
        for s, m, st in zip(specs, metrics, all_sufstats, strict=False)
    ]
    seg_sufstats = all_sufstats[len(metrics) :]
    segments = {
        name: [round(float(sacrebleu_api.corpus_score(m, [row]).score), 4) for row in st[0]]
        for (name, m), st in zip(seg_metrics.items(), seg_sufstats, strict=True)
    }
    return results, segments


def score_name(spec: MetricSpec, trg_lang: str) -> str:
    """sacrebleu's own score name (BLEU, chrF2, chrF2++, TER; COMET, CometKiwi) without scoring anything."""
    if spec.segment_mean:
        return spec.info.score_name
    metric = make_metric(spec, trg_lang)
    return metric.corpus_score([""], [[""]]).name


def _segment_metrics(trg_lang: str) -> dict[str, Metric]:
    return {"chrF2": CHRF(), "BLEU": BLEU(effective_order=True, trg_lang=trg_lang)}


def segment_scores(
    hyps: Sequence[str], refs: Sequence[Sequence[str]], trg_lang: str
) -> dict[str, list[float]]:
    """Per-segment chrF and BLEU (effective order), equal to sacrebleu's sentence_score."""
    return direction_scores([], hyps, refs, trg_lang)[1]
