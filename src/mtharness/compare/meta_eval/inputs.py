"""What meta-eval compares: candidates from comparisons, and the human file at the level it has."""

from __future__ import annotations

from collections.abc import Sequence

from mtharness.compare.human.evaluation import read_human_file_scores
from mtharness.compare.human.segments import human_system_means
from mtharness.compare.meta_eval.run import Candidate, Human
from mtharness.compare.systems import Comparison
from mtharness.scoring.metrics import SystemStats

ROUND_TRIP = " (round trip)"


def read_human_file(
    path: str, n_segments: int, level: str = "auto", fmt: str = "auto", column: str | None = None
) -> Human:
    """The human file as compare reads it: level recognised (or checked), ambiguous files refused."""
    scores = read_human_file_scores(path, n_segments, level, fmt, column)
    if scores.level == "system":
        return Human(path, "system", dict(scores.system))
    return Human(path, "segment", human_system_means(scores.segment), dict(scores.segment))


def sentence_bleu(stats: SystemStats) -> list[float]:
    """sacrebleu's sentence_bleu (effective order) of every segment from its statistics, unrounded.

    compare's per-segment BLEU is rounded to 4 decimals, which makes ties no metric gave; tie
    calibration searches those very differences, so it gets the full values."""
    from sacrebleu.metrics import BLEU

    metric = stats.metric
    n = int(metric.max_ngram_order)  # type: ignore[union-attr]
    return [
        BLEU.compute_bleu(
            correct=[int(x) for x in row[2 : 2 + n]],
            total=[int(x) for x in row[2 + n : 2 + 2 * n]],
            sys_len=int(row[0]),
            ref_len=int(row[1]),
            smooth_method=metric.smooth_method,  # type: ignore[union-attr]
            smooth_value=metric.smooth_value,  # type: ignore[union-attr]
            effective_order=True,
            max_ngram_order=n,
        ).score
        for row in stats.sufstats
    ]


def segment_scores(stats: SystemStats) -> list[float]:
    """Per-segment scores: sentence BLEU as sentence_bleu, the others from their own statistics."""
    from sacrebleu.metrics import BLEU

    if isinstance(stats.metric, BLEU):
        return sentence_bleu(stats)
    return stats.segment_scores()


def candidates(comps: Sequence[Comparison], segment_level: bool) -> list[Candidate]:
    """One candidate per metric and direction; round-trip ones are named '<metric> (round trip)'."""
    out = []
    for comp in comps:
        suffix = "" if comp.inp.label == "forward" else ROUND_TRIP
        for m in comp.metrics:
            system = {name: float(s.score) for name, s in m.stats.items()}
            segment = {name: segment_scores(s) for name, s in m.stats.items()} if segment_level else {}
            out.append(Candidate(m.name + suffix, comp.inp.label, m.higher_is_better, system, segment))
    return out
