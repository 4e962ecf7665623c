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

# kind -> (sacrebleu class, fixed constructor arguments, higher_is_better)
KINDS: dict[str, tuple[type[Metric], dict[str, Any], bool]] = {
    "bleu": (BLEU, {}, True),
    "chrf": (CHRF, {"word_order": 0}, True),
    "chrfpp": (CHRF, {"word_order": 2}, True),
    "ter": (TER, {}, False),
}
ASIAN_LANGS = {"zh", "ja", "ko"}
DEFAULT_METRICS = ("bleu", "chrf", "chrfpp", "ter")


@dataclass(frozen=True)
class MetricSpec:
    """A metric kind plus sacrebleu constructor arguments (1:1 with sacrebleu's own names)."""

    kind: str
    args: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise MtharnessError(f"unknown metric {self.kind!r}; choose from {sorted(KINDS)}")

    @property
    def higher_is_better(self) -> bool:
        return KINDS[self.kind][2]


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


def make_metric(spec: MetricSpec, trg_lang: str, with_references: bool = True) -> Metric:
    """Instantiate the sacrebleu metric for one target language."""
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


def corpus_score(
    spec: MetricSpec, hyps: Sequence[str], refs: Sequence[Sequence[str]], trg_lang: str
) -> MetricResult:
    """Corpus-level score of ``hyps`` against reference streams ``refs`` (sacrebleu's layout)."""
    metric = make_metric(spec, trg_lang)
    score = metric.corpus_score(list(hyps), [list(r) for r in refs])
    return MetricResult(
        name=score.name,
        score=float(score.score),
        signature=metric.get_signature().format(),
        higher_is_better=spec.higher_is_better,
    )


def score_name(spec: MetricSpec, trg_lang: str) -> str:
    """sacrebleu's own score name (BLEU, chrF2, chrF2++, TER) without scoring anything."""
    metric = make_metric(spec, trg_lang)
    return metric.corpus_score([""], [[""]]).name


def segment_scores(
    hyps: Sequence[str], refs: Sequence[Sequence[str]], trg_lang: str
) -> dict[str, list[float]]:
    """Per-segment chrF and BLEU (effective order), as sacrebleu's sentence_score computes them."""
    chrf = CHRF()
    bleu = BLEU(effective_order=True, trg_lang=trg_lang)
    out: dict[str, list[float]] = {"chrF2": [], "BLEU": []}
    for i, hyp in enumerate(hyps):
        seg_refs = [r[i] for r in refs]
        out["chrF2"].append(round(chrf.sentence_score(hyp, seg_refs).score, 4))
        out["BLEU"].append(round(bleu.sentence_score(hyp, seg_refs).score, 4))
    return out
