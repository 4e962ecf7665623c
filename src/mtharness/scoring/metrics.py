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
ALL_KINDS = (*KINDS, *COMET_KINDS)  # every kind `metrics=[...]` and `--metrics` accept
# every name a user may type for a metric (compared lower-cased) -> its kind: our config names and
# sacrebleu's score names, so `chrf` and `chrF2` mean the same in run, compare, report and gate
METRIC_ALIASES: dict[str, str] = {
    "bleu": "bleu",
    "chrf": "chrf",
    "chrf2": "chrf",
    "chrfpp": "chrfpp",
    "chrf2pp": "chrfpp",
    "chrf++": "chrfpp",
    "chrf2++": "chrfpp",
    "ter": "ter",
    "comet": "comet",  # COMET and CometKiwi: scored in the managed environment (scoring.comet)
    "cometkiwi": "cometkiwi",
}
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
    """The metric kind (bleu, chrf, chrfpp, ter) a user's name stands for; one line if unknown.

    The one resolver every command uses, so a name that works in one place works in all.
    """
    kind = METRIC_ALIASES.get(str(name).strip().lower())
    if kind is None:
        raise MtharnessError(f"unknown metric {name!r}; known names: {KNOWN_METRIC_NAMES}")
    return kind


def metric_kind_or_none(name: str) -> str | None:
    """canonical_metric, but None for a name that is not a metric (a rate, a pattern, chrF3)."""
    return METRIC_ALIASES.get(str(name).strip().lower())


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
    specs = [MetricSpec(str(k)) for k in config]
    return [s for i, s in enumerate(specs) if s not in specs[:i]]  # chrf and chrF2 are one metric


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
