"""Segment-level analysis: length buckets, wins/losses, worst segments and word-level diffs.

Bucket scores are corpus scores over the bucket's segments, computed from the same per-segment
statistics as the headline numbers (so a one-bucket split gives back the corpus score exactly).
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mtharness.compare.finegrained import (
    HIST_EDGES,
    histogram,
    salient_ngrams,
    tokenizer,
    word_f_by_frequency,
)
from mtharness.compare.systems import Comparison, MetricComparison
from mtharness.scoring.metrics import (
    MetricSpec,
    SystemStats,
    score_function,
    score_name,
    segment_scores,
    system_statistics,
)
from mtharness.scoring.registry import info_for_score


@dataclass(frozen=True)
class Bucket:
    low: int
    high: int  # inclusive
    indices: tuple[int, ...]

    @property
    def label(self) -> str:
        return f"{self.low}-{self.high} words" if self.low != self.high else f"{self.low} words"


def length_buckets(sources: Sequence[str], n_buckets: int = 4) -> list[Bucket]:
    """Split segments by source length in words at quantiles, so buckets hold similar counts."""
    lengths = np.array([len(s.split()) for s in sources])
    if len(lengths) == 0:
        return []
    edges = sorted({int(np.quantile(lengths, q)) for q in np.linspace(0, 1, n_buckets + 1)[1:-1]})
    bounds, low = [], int(lengths.min())
    for edge in [*edges, int(lengths.max())]:
        if edge >= low:
            bounds.append((low, edge))
            low = edge + 1
    buckets = []
    for lo, hi in bounds:
        idx = tuple(int(i) for i in np.flatnonzero((lengths >= lo) & (lengths <= hi)))
        if idx:
            buckets.append(Bucket(lo, hi, idx))
    return buckets


def bucket_score(stats: SystemStats, bucket: Bucket) -> float:
    """Corpus score of the bucket's segments only."""
    summed = stats.sufstats[list(bucket.indices)].sum(axis=0)
    return float(score_function(stats.metric)(summed.tolist()).score)


def bucket_table(
    sources: Sequence[str], stats: dict[str, SystemStats], n_buckets: int = 4
) -> list[dict[str, Any]]:
    """One row per bucket: its label, size and every system's score on it."""
    return [
        {
            "bucket": b.label,
            "low": b.low,
            "high": b.high,
            "n": len(b.indices),
            "scores": {name: round(bucket_score(s, b), 4) for name, s in stats.items()},
        }
        for b in length_buckets(sources, n_buckets)
    ]


def wins_losses(
    baseline: Sequence[float], system: Sequence[float], higher_is_better: bool = True, margin: float = 0.0
) -> dict[str, int]:
    """How many segments the system scores better / worse / the same as the baseline."""
    diff = np.asarray(system, dtype=float) - np.asarray(baseline, dtype=float)
    if not higher_is_better:
        diff = -diff
    return {
        "wins": int(np.sum(diff > margin)),
        "losses": int(np.sum(diff < -margin)),
        "ties": int(np.sum(np.abs(diff) <= margin)),
    }


def worst_segments(
    baseline: Sequence[float], system: Sequence[float], k: int = 10, higher_is_better: bool = True
) -> list[int]:
    """Indices of the k segments where the system falls furthest below the baseline (stable order)."""
    diff = np.asarray(system, dtype=float) - np.asarray(baseline, dtype=float)
    if not higher_is_better:
        diff = -diff
    order = np.argsort(diff, kind="stable")
    return [int(i) for i in order[:k] if diff[i] < 0]


def lowest_segments(scores: Sequence[float], k: int = 10, higher_is_better: bool = True) -> list[int]:
    """Indices of the k worst-scored segments of one system."""
    arr = np.asarray(scores, dtype=float)
    order = np.argsort(arr if higher_is_better else -arr, kind="stable")
    return [int(i) for i in order[:k]]


def changed_word_share(original: str, changed: str) -> float:
    """Share of the original's words that the round trip lost or replaced."""
    words = original.split()
    if not words:
        return 0.0
    matcher = difflib.SequenceMatcher(a=words, b=changed.split(), autojunk=False)
    kept = sum(block.size for block in matcher.get_matching_blocks())
    return 1.0 - kept / len(words)


def _declares(score_name: str, flag: str) -> bool:
    """Whether the metric that made ``score_name`` declares ``flag`` (scoring.protocol.MetricInfo)."""
    info = info_for_score(score_name)
    return bool(info is not None and getattr(info, flag))


def analyse(comp: Comparison, k: int = 10) -> dict[str, Any]:
    """Length buckets, wins/losses and worst segments of a comparison; stored in ``comp.analysis``.

    Segment-level scores are chrF (sentence chrF from the comparison's own statistics when chrF was
    among the metrics; BLEU on single segments is too coarse to rank them).
    """
    chrf = next((m for m in comp.metrics if _declares(m.name, "segment_analysis")), None)
    if chrf is not None:
        seg = {name: s.segment_scores() for name, s in chrf.stats.items()}
        comp.segment_metric = chrf.name
    else:
        (chrf_stats,) = system_statistics(
            [MetricSpec("chrf")], comp.inp.systems, comp.inp.refs, comp.inp.trg_lang, 1
        )
        seg = {name: s.segment_scores() for name, s in chrf_stats.items()}
        comp.segment_metric = score_name(MetricSpec("chrf"), comp.inp.trg_lang)
    comp.segment_scores = seg
    base = comp.baseline
    out: dict[str, Any] = {"segment_metric": comp.segment_metric}
    if comp.inp.sources:
        out["length_buckets"] = {m.name: bucket_table(comp.inp.sources, m.stats) for m in comp.metrics}
    others = [s for s in comp.systems if s != base]
    out["wins_losses"] = {s: {"baseline": base, **wins_losses(seg[base], seg[s])} for s in others}
    # 1-based line numbers (segment i of every input file is line i + 1)
    out["worst_lines"] = {s: [i + 1 for i in worst_segments(seg[base], seg[s], k)] for s in others}
    out["lowest_lines"] = {s: [i + 1 for i in lowest_segments(seg[s], k)] for s in comp.systems}
    out.update(_finegrained(comp, seg, k))
    comp.analysis = out
    return out


def _finegrained(comp: Comparison, seg: dict[str, list[float]], k: int) -> dict[str, Any]:
    """compare-mt style views: salient n-grams against the reference system, word F-measure by
    reference frequency, sentence-score histograms."""
    split = tokenizer(comp.inp.trg_lang)
    words = {s: [split(h) for h in hyps] for s, hyps in comp.inp.systems.items()}
    refs = [[split(r) for r in stream] for stream in comp.inp.refs]
    base = comp.baseline
    return {
        "salient_ngrams": {
            s: {"against": base, **salient_ngrams(words[s], words[base], refs, k)}
            for s in comp.systems
            if s != base
        },
        "word_f_by_frequency": {s: word_f_by_frequency(words[s], refs) for s in comp.systems},
        "sentence_histograms": {
            "metric": comp.segment_metric,
            "edges": list(HIST_EDGES),
            "counts": {s: histogram(seg[s]) for s in comp.systems},
        },
    }


def sentence_scores(comp: Comparison, m: MetricComparison) -> dict[str, list[float]]:
    """Per-segment scores of one metric, as sacrebleu's sentence_score gives them: BLEU with effective
    order (sacrebleu.sentence_bleu's default), chrF and TER from the comparison's own statistics."""
    if _declares(m.name, "sentence_effective_order"):
        return {
            s: segment_scores(h, comp.inp.refs, comp.inp.trg_lang)["BLEU"]
            for s, h in comp.inp.systems.items()
        }
    return {s: st.segment_scores() for s, st in m.stats.items()}


def sentence_level_tsv(comps: Sequence[Comparison]) -> str:
    """Every system's per-segment scores, one row per direction, segment and system (--sentence-level)."""
    lines: list[str] = []
    for comp in comps:
        names = [m.name for m in comp.metrics]
        per_metric = [sentence_scores(comp, m) for m in comp.metrics]
        if not lines:
            lines.append("\t".join(["direction", "segment", "system", *names]))
        for i in range(comp.inp.n_segments):
            for s in comp.systems:
                cells = [f"{scores[s][i]:.4f}" for scores in per_metric]
                lines.append("\t".join([comp.inp.label, str(i + 1), s, *cells]))
    return "\n".join(lines) + "\n"
