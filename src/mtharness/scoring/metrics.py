"""sacrebleu metrics with their signatures and directions kept together.

Every metric here is a thin wrapper: sacrebleu computes the numbers, we only choose the
target-language-aware defaults and carry the signature and ``higher_is_better`` along.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sacrebleu.metrics import BLEU, CHRF, TER
from sacrebleu.metrics.base import Metric

from mtharness.core import MetricResult, MtharnessError
from mtharness.scoring.comet import COMET_KINDS
from mtharness.scoring.sufstats import Stats, extract_statistics, stats_key

# kind -> (sacrebleu class, fixed constructor arguments, higher_is_better)
KINDS: dict[str, tuple[type[Metric], dict[str, Any], bool]] = {
    "bleu": (BLEU, {}, True),
    "chrf": (CHRF, {"word_order": 0}, True),
    "chrfpp": (CHRF, {"word_order": 2}, True),
    "ter": (TER, {}, False),
}
ASIAN_LANGS = {"zh", "ja", "ko"}
DEFAULT_METRICS = ("bleu", "chrf", "chrfpp", "ter")
ALL_KINDS = (*KINDS, *COMET_KINDS)  # every name `metrics=[...]` and `--metrics` accept


@dataclass(frozen=True)
class MetricSpec:
    """A metric kind plus sacrebleu constructor arguments (1:1 with sacrebleu's own names)."""

    kind: str
    args: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS and self.kind not in COMET_KINDS:
            raise MtharnessError(f"unknown metric {self.kind!r}; choose from {sorted(ALL_KINDS)}")

    @property
    def higher_is_better(self) -> bool:
        return True if self.neural else KINDS[self.kind][2]

    @property
    def neural(self) -> bool:
        """COMET/CometKiwi: scored by a model in the managed environment, not by sacrebleu."""
        return self.kind in COMET_KINDS


def parse_specs(config: Mapping[str, Any] | Sequence[str] | None) -> list[MetricSpec]:
    """From the ``metrics`` config node ({key: {metric: kind, ...args}}) or a list of kinds."""
    if not config:
        return [MetricSpec(k) for k in DEFAULT_METRICS]
    if isinstance(config, Mapping):
        specs = []
        for key, node in config.items():
            args = dict(node or {})
            kind = args.pop("metric", key)
            specs.append(MetricSpec(str(kind), {k: v for k, v in args.items() if v is not None}))
        return specs
    return [MetricSpec(str(k).lower().replace("++", "pp").replace("+", "p")) for k in config]


def make_metric(spec: MetricSpec, trg_lang: str) -> Metric:
    """Instantiate the sacrebleu metric for one target language."""
    if spec.neural:
        raise MtharnessError(
            f"metric {spec.kind} is not a sacrebleu metric (mtharness.scoring.comet scores it)"
        )
    cls, fixed, _ = KINDS[spec.kind]
    args: dict[str, Any] = {**fixed, **spec.args}
    if cls is BLEU:
        args.setdefault("trg_lang", trg_lang)  # picks tok:zh / ja-mecab / ko-mecab where needed
    if cls is TER:
        args.setdefault("asian_support", trg_lang in ASIAN_LANGS)
    try:
        return cls(**args)
    except (TypeError, ValueError) as exc:
        raise MtharnessError(
            f"metric {spec.kind}: bad argument ({exc}); see sacrebleu's {cls.__name__}"
        ) from None


def _result(spec: MetricSpec, metric: Metric, stats: Stats) -> MetricResult:
    # sacrebleu's own aggregation over the full, ordered list: the score corpus_score returns
    score = metric._aggregate_and_compute(stats)
    return MetricResult(
        name=score.name,
        score=float(score.score),
        signature=metric.get_signature().format(),
        higher_is_better=spec.higher_is_better,
    )


def _unique_statistics(
    metrics: Sequence[Metric],
    systems: Sequence[Sequence[str]],
    refs: Sequence[Sequence[str]],
    workers: int | None,
) -> list[list[Stats]]:
    """extract_statistics, once per distinct stats_key (chrF for corpus and segment scores)."""
    keys = [stats_key(m) for m in metrics]
    first = {k: metrics[i] for i, k in reversed(list(enumerate(keys)))}
    unique = list(first.values())
    stats = dict(zip(first, extract_statistics(unique, systems, refs, workers), strict=True))
    for m, k in zip(metrics, keys, strict=True):
        m.num_refs = first[k].num_refs
    return [stats[k] for k in keys]


def score_systems(
    specs: Sequence[MetricSpec],
    systems: Sequence[Sequence[str]],
    refs: Sequence[Sequence[str]],
    trg_lang: str,
    workers: int | None = None,
) -> list[list[MetricResult]]:
    """[system][spec] corpus scores, each equal to sacrebleu's corpus_score with its signature.

    References are preprocessed once for all systems and the statistics are extracted in parallel
    chunks on big inputs (see mtharness.scoring.sufstats).
    """
    metrics = [make_metric(s, trg_lang) for s in specs]
    for hyps in systems:
        for metric in metrics:
            metric._check_corpus_score_args(hyps, refs)  # sacrebleu's own input errors
    stats = _unique_statistics(metrics, systems, refs, workers)
    return [
        [_result(spec, m, stats[i][j]) for i, (spec, m) in enumerate(zip(specs, metrics, strict=True))]
        for j in range(len(systems))
    ]


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
    metrics = [make_metric(s, trg_lang) for s in specs]
    seg_metrics = _segment_metrics(trg_lang)
    for metric in metrics:
        metric._check_corpus_score_args(hyps, refs)
    all_stats = _unique_statistics([*metrics, *seg_metrics.values()], [hyps], refs, workers)
    results = [_result(s, m, st[0]) for s, m, st in zip(specs, metrics, all_stats, strict=False)]
    seg_stats = all_stats[len(metrics) :]
    segments = {
        name: [round(float(m._aggregate_and_compute([row]).score), 4) for row in st[0]]
        for (name, m), st in zip(seg_metrics.items(), seg_stats, strict=True)
    }
    return results, segments


def score_name(spec: MetricSpec, trg_lang: str) -> str:
    """sacrebleu's own score name (BLEU, chrF2, chrF2++, TER; COMET, CometKiwi) without scoring anything."""
    if spec.neural:
        return COMET_KINDS[spec.kind][0]
    metric = make_metric(spec, trg_lang)
    return metric.corpus_score([""], [[""]]).name


def _segment_metrics(trg_lang: str) -> dict[str, Metric]:
    return {"chrF2": CHRF(), "BLEU": BLEU(effective_order=True, trg_lang=trg_lang)}


def segment_scores(
    hyps: Sequence[str], refs: Sequence[Sequence[str]], trg_lang: str
) -> dict[str, list[float]]:
    """Per-segment chrF and BLEU (effective order), equal to sacrebleu's sentence_score."""
    return direction_scores([], hyps, refs, trg_lang)[1]
