"""xCOMET and xCOMET-QE: COMET-family scores plus error spans, through the same managed-env worker.

An XCOMET checkpoint (Unbabel/XCOMET-XL, -XXL) scores (src, mt, ref) as ``xcomet`` or, the same
checkpoint without references, (src, mt) as ``xcomet_qe``. Besides the segment score, its
``predict()`` tags error spans in the translation (``metadata.error_spans``: per segment a list of
{text, start, end, severity, confidence}). The scorer returns them as predict() gave them and caches
them with the score, under the same key (checkpoint sha256, src, mt, ref), so a rerun reads back the
identical spans without loading the model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mtharness.core import MetricResult, MtharnessError
from mtharness.scoring.comet.cache import CometCache
from mtharness.scoring.comet.metric import (
    REQUEST_SIZE,
    Comet,
    CometScorer,
    _info,
    comet_config,
)

Spans = list[dict[str, Any]]  # one segment's error spans: {text, start, end, severity, confidence}
XCOMET_CLASS = "XCOMETMetric"


class XComet(Comet):
    """xCOMET (reference-based): (src, mt, ref) -> score and error spans."""

    info = _info("xcomet", "xCOMET", True, score_range=(0.0, 1.0))
    default_model = "Unbabel/XCOMET-XL"

    def open(self, args: Mapping[str, Any], cache_dir: str | Path | None) -> XCometScorer:
        return XCometScorer(comet_config(self, args), CometCache(cache_dir), owns_cache=True)


class XCometQE(XComet):
    """xCOMET-QE: the same XCOMET checkpoint scoring (src, mt) without references."""

    info = _info("xcomet_qe", "xCOMET-QE", False, score_range=(0.0, 1.0), aliases=("xcomet-qe",))


class XCometScorer(CometScorer):
    """A CometScorer that also keeps each segment's error spans (``spans()`` after ``score()``)."""

    REFERENCE_FREE = "xcomet_qe"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._last_spans: list[Spans] = []
        self._system_spans: dict[str, list[Spans]] = {}

    def _check_model(self, info: dict[str, Any]) -> None:
        # an XCOMET checkpoint scores with or without references: only its class matters
        if info.get("model_class") != XCOMET_CLASS:
            raise MtharnessError(
                f"metrics.{self.cfg.kind}.model {self.cfg.model_id} is a {info.get('model_class')}, "
                f"not an XCOMET model (no error spans): use metrics=[...,comet] or cometkiwi for it"
            )

    def score(
        self, sources: Sequence[str], hyps: Sequence[str], refs: Sequence[str] | None
    ) -> tuple[MetricResult, list[float]]:
        """System score and segment scores, as CometScorer; the spans are kept for ``spans()``."""
        items, keys = self._keyed(sources, hyps, refs)
        known = self.cache.get_many(keys)
        spans = self.cache.get_spans(keys)
        # a score cached without its spans (never by this scorer) is scored again
        missing = sorted(
            {k: i for i, k in reversed(list(enumerate(keys))) if k not in known or k not in spans}.values()
        )
        self.cache_counts["hits"] += len(keys) - len(missing)
        self.cache_counts["misses"] += len(missing)
        for lo in range(0, len(missing), REQUEST_SIZE):
            part = missing[lo : lo + REQUEST_SIZE]
            self._ensure_worker()
            answer = self.worker.score([items[i] for i in part])
            self.cache_counts["model_calls"] += 1
            got = answer.get("error_spans")
            if not isinstance(got, list) or len(got) != len(part):
                raise MtharnessError(f"COMET worker gave no error spans for {self.cfg.model_id}")
            new = {keys[i]: float(s) for i, s in zip(part, answer["scores"], strict=True)}
            new_spans = {keys[i]: list(sp) for i, sp in zip(part, got, strict=True)}
            self.cache.put_many(new)
            self.cache.put_spans(new_spans)
            known.update(new)
            spans.update(new_spans)
        scores = [known[k] for k in keys]
        self._last_spans = [spans[k] for k in keys]
        return self.result(scores), scores

    def spans(self) -> list[Spans]:
        """Each segment's error spans from the last ``score()`` call, as predict() gave them."""
        return self._last_spans

    def score_systems(
        self, sources: Sequence[str], systems: Mapping[str, Sequence[str]], refs: Sequence[str] | None
    ) -> dict[str, tuple[MetricResult, list[float]]]:
        """As CometScorer's; each system's spans kept for ``system_spans()``, and ``spans()`` answers
        for the last system, as after ``score()`` per system in turn."""
        self._last_spans = []
        out = super().score_systems(sources, systems, refs)
        n, every = len(out), self._last_spans  # segment-major: every system of segment 1, then 2, ...
        self._system_spans = {name: every[j::n] for j, name in enumerate(out)} if every else {}
        self._last_spans = every[n - 1 :: n] if every else []
        return out

    def system_spans(self) -> dict[str, list[Spans]]:
        """Each system's error spans from the last ``score_systems()`` call (protocol.SystemSpanScorer)."""
        return self._system_spans
