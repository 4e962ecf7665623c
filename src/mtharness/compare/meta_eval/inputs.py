"""What meta-eval compares: candidates from comparisons, and the human file at the level it has."""

from __future__ import annotations

from collections.abc import Sequence

from mtharness.compare.human import read_human
from mtharness.compare.human_eval import _is_results_table
from mtharness.compare.human_segments import HumanScores, human_system_means, read_human_scores
from mtharness.compare.meta_eval.run import Candidate, Human
from mtharness.compare.systems import Comparison
from mtharness.core import MtharnessError

ROUND_TRIP = " (round trip)"


def read_human_file(
    path: str, n_segments: int, level: str = "auto", fmt: str = "auto", column: str | None = None
) -> Human:
    """The human file as compare reads it: level recognised (or checked), ambiguous files refused."""
    if _is_results_table(path, fmt, column):
        if level == "segment":
            raise MtharnessError(
                f"human score file {path}: a WMT results table holds system scores, not segment scores"
            )
        scores = HumanScores(path, "system", system=read_human(path, "wmt-results", column))
    else:
        scores = read_human_scores(path, n_segments, level)
    if scores.level == "system":
        return Human(path, "system", dict(scores.system))
    return Human(path, "segment", human_system_means(scores.segment), dict(scores.segment))


def candidates(comps: Sequence[Comparison], segment_level: bool) -> list[Candidate]:
    """One candidate per metric and direction; round-trip ones are named '<metric> (round trip)'."""
    from mtharness.compare.analysis import sentence_scores

    out = []
    for comp in comps:
        suffix = "" if comp.inp.label == "forward" else ROUND_TRIP
        for m in comp.metrics:
            system = {name: float(s.score) for name, s in m.stats.items()}
            segment = sentence_scores(comp, m) if segment_level else {}
            out.append(Candidate(m.name + suffix, comp.inp.label, m.higher_is_better, system, segment))
    return out
