"""Metrics whose system score is the mean of their segment scores (COMET, CometKiwi).

Their per-segment "sufficient statistics" are the rows (segment score, 1): a resample's column sums
are (sum of scores, count), and their ratio is the resample's system score, exactly what
unbabel-comet's ``predict()`` computes on it. So bootstrap CIs and paired tests run through the
same weighted-sum machinery as sacrebleu's counts (``scoring.significance``): resampling means, as
comet-compare does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class MeanScore:
    score: float


class MeanMetric:
    """The score-from-sums function of a mean-type metric (the counterpart of a sacrebleu Metric)."""

    def score_of_sums(self, sums: Sequence[float] | np.ndarray) -> MeanScore:
        return MeanScore(float(sums[0]) / float(sums[1]))


def mean_rows(scores: Sequence[float]) -> np.ndarray:
    """(n_segments, 2) statistics: each segment's score and a count of one."""
    values = np.asarray([float(x) for x in scores], dtype=np.float64)
    return np.column_stack([values, np.ones(len(values))])
