"""sacrebleu's BLEU, chrF, chrF++ and TER as metrics of the protocol (``scoring.protocol``).

sacrebleu computes every number; each class only declares the metric (names, direction, range,
precision) and picks the target-language-aware defaults. Constructor arguments map 1:1 to
sacrebleu's (``metrics.bleu.tokenize=none``), so ``info.options`` is None: sacrebleu checks them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from sacrebleu.metrics import BLEU, CHRF, TER
from sacrebleu.metrics.base import Metric as SacrebleuObject

from mtharness.core import MtharnessError
from mtharness.scoring.protocol import CORPUS_STATISTICS, Metric, MetricInfo

ASIAN_LANGS = {"zh", "ja", "ko"}


class SacrebleuMetric(Metric):
    """A sacrebleu metric: corpus score from summed per-segment sufficient statistics."""

    sacrebleu_class: ClassVar[type[SacrebleuObject]]
    fixed: ClassVar[dict[str, Any]] = {}

    def defaults(self, trg_lang: str) -> dict[str, Any]:
        return {}

    def make(self, args: Mapping[str, Any], trg_lang: str) -> SacrebleuObject:
        """The sacrebleu object for one target language; a bad argument is one line."""
        merged: dict[str, Any] = {**self.fixed, **self.defaults(trg_lang), **args}
        try:
            return self.sacrebleu_class(**merged)
        except (TypeError, ValueError) as exc:
            raise MtharnessError(
                f"metric {self.info.kind}: bad argument ({exc}); see sacrebleu's {self.sacrebleu_class.__name__}"
            ) from None


def _info(
    kind: str, score_name: str, higher: bool, aliases: tuple[str, ...], hi: float | None, **more: Any
) -> MetricInfo:
    return MetricInfo(
        kind,
        score_name,
        higher,
        precision=2,
        range=(0.0, hi),
        aliases=aliases,
        aggregation=CORPUS_STATISTICS,
        **more,
    )


class Bleu(SacrebleuMetric):
    info = _info("bleu", "BLEU", True, (), 100.0, sentence_effective_order=True)
    sacrebleu_class = BLEU

    def defaults(self, trg_lang: str) -> dict[str, Any]:
        return {"trg_lang": trg_lang}  # picks tok:zh / ja-mecab / ko-mecab where needed


class Chrf(SacrebleuMetric):
    info = _info("chrf", "chrF2", True, ("chrF",), 100.0, segment_analysis=True)
    sacrebleu_class = CHRF
    fixed: ClassVar[dict[str, Any]] = {"word_order": 0}


class ChrfPP(SacrebleuMetric):
    info = _info("chrfpp", "chrF2++", True, ("chrf2pp", "chrF++"), 100.0, segment_analysis=True)
    sacrebleu_class = CHRF
    fixed: ClassVar[dict[str, Any]] = {"word_order": 2}


class Ter(SacrebleuMetric):
    info = _info("ter", "TER", False, (), None)  # edits per reference word: can exceed 100
    sacrebleu_class = TER

    def defaults(self, trg_lang: str) -> dict[str, Any]:
        return {"asian_support": trg_lang in ASIAN_LANGS}
