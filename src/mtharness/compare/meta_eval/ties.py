"""acc_eq / tau_eq with tie calibration (Deutsch et al. 2023, "Ties Matter").

A metric rarely gives two translations exactly the same score, while humans often do (MQM gives
many perfect segments). Tie calibration lets the metric declare a tie whenever its two scores are
within epsilon, and picks the epsilon that maximises the statistic over all candidate thresholds:
every distinct absolute metric difference of a pair, and 0. This is MTME's ``tau_optimization`` at
sample rate 1.0, computed in one pass: within a vector every pair counts 1/pairs, so moving one pair
from "as scored" to "tied by the metric" changes the mean by a fixed amount, and the statistic at a
threshold is the starting value plus the cumulative sum of those changes over the pairs sorted by
their difference. Missing scores on either side drop out (MTME's filter for this statistic).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mtharness.compare.meta_eval.stats import Gold, reshape

# The pair arrays of one optimisation take ~40 bytes a pair; above this many pairs (e.g. no grouping
# on thousands of segments times systems) the statistic is reported as skipped, not computed.
MAX_PAIRS = 10_000_000


@dataclass(frozen=True)
class Calibrated:
    """The best value of acc_eq (or tau_eq), the epsilon that gives it, and what it averaged over."""

    value: float | None
    epsilon: float | None
    n_groups: int  # vectors with at least one pair
    n_pairs: int  # pairs of (system, item) entries compared
    skipped: str | None = None  # why it was not computed


def _rows(
    gold: Gold, metric: Sequence[float | None], num_sys: int, grouping: str
) -> list[tuple[np.ndarray, np.ndarray]]:
    out = []
    for g_row, m_row in zip(
        reshape(gold, num_sys, grouping), reshape(metric, num_sys, grouping), strict=True
    ):
        keep = np.array(
            [g is not None and m is not None for g, m in zip(g_row, m_row, strict=True)], dtype=bool
        )
        if keep.sum() >= 2:
            out.append((g_row[keep].astype(np.float64), m_row[keep].astype(np.float64)))
    return out


def count_pairs(gold: Gold, metric: Sequence[float | None], num_sys: int, grouping: str) -> int:
    return sum(len(g) * (len(g) - 1) // 2 for g, _ in _rows(gold, metric, num_sys, grouping))


def calibrated(
    gold: Gold, metric: Sequence[float | None], num_sys: int, grouping: str, variant: str = "acc23"
) -> Calibrated:
    """acc_eq (``acc23``) or tau_eq (``23``) at the optimal tie threshold epsilon."""
    if variant not in ("acc23", "23"):
        raise ValueError("tie calibration is defined for the '23' and 'acc23' variants only")
    rows = _rows(gold, metric, num_sys, grouping)
    n_pairs = sum(len(g) * (len(g) - 1) // 2 for g, _ in rows)
    if n_pairs > MAX_PAIRS:
        return Calibrated(None, None, len(rows), n_pairs, f"{n_pairs} pairs (limit {MAX_PAIRS})")
    if not rows:
        return Calibrated(None, None, 0, 0, "no vector with two scored entries")
    diffs, deltas, start = [], [], 0.0
    for g, m in rows:
        i, j = np.triu_indices(len(g), 1)
        h_sign = np.sign(g[i] - g[j])
        m_diff = m[i] - m[j]
        agree_now = h_sign == np.sign(m_diff)  # as scored (an exact metric tie is already a tie)
        agree_tied = h_sign == 0  # once the metric calls the pair a tie
        weight = 1.0 / len(i)
        start += agree_now.sum() * weight
        diffs.append(np.abs(m_diff))
        deltas.append((agree_tied.astype(np.float64) - agree_now) * weight)
    diff = np.concatenate(diffs)
    delta = np.concatenate(deltas)
    order = np.argsort(diff, kind="stable")
    diff, cum = diff[order], np.cumsum(delta[order])
    # the value at a threshold counts every pair whose difference is <= it: the last of equal diffs
    last = np.r_[diff[1:] != diff[:-1], True]
    thresholds = np.r_[0.0, diff[last]]
    values = np.r_[start, start + cum[last]] / len(rows)
    if diff[0] == 0.0:  # 0 is a candidate already: drop the duplicate (its pairs change nothing)
        thresholds, values = thresholds[1:], values[1:]
    if variant == "23":
        values = 2.0 * values - 1.0
    # first best, as MTME's argmax; rounding keeps float noise from picking a later equal value
    best = int(np.argmax(np.round(values, 12)))
    return Calibrated(float(values[best]), float(thresholds[best]), len(rows), n_pairs)
