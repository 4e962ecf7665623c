"""Correlation of two score lists across systems (Pearson, Spearman, Kendall tau from scipy.stats).

Used by human-judgement correlation (compare/human/system.py) and round-trip vs forward correlation
(compare/rtt.py), so both apply the same guard: fewer than MIN_SYSTEMS points, or a list with no
spread, has no meaningful correlation and gives None instead of scipy's NaN and warnings.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

MIN_SYSTEMS = 3


@dataclass(frozen=True)
class Correlations:
    """The three coefficients with their two-sided p-values."""

    pearson: float | None
    pearson_p: float | None
    spearman: float | None
    spearman_p: float | None
    kendall: float | None
    kendall_p: float | None


def correlations(x: Sequence[float], y: Sequence[float]) -> Correlations | None:
    """Pearson, Spearman and Kendall of ``x`` with ``y``; None where correlation is undefined."""
    if len(x) != len(y):
        raise ValueError(f"correlating {len(x)} scores with {len(y)}")
    if len(x) < MIN_SYSTEMS or len(set(x)) < 2 or len(set(y)) < 2:
        return None
    from scipy import stats

    p, s, k = stats.pearsonr(x, y), stats.spearmanr(x, y), stats.kendalltau(x, y)
    values = (p.statistic, p.pvalue, s.statistic, s.pvalue, k.statistic, k.pvalue)
    return Correlations(*(None if math.isnan(float(v)) else float(v) for v in values))
