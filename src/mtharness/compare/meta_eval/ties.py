"""acc_eq / tau_eq with tie calibration (Deutsch et al. 2023, "Ties Matter").

A metric rarely gives two translations exactly the same score, while humans often do (MQM gives
many perfect segments). Tie calibration lets the metric declare a tie whenever its two scores are
within epsilon, and picks the epsilon that maximises the statistic over all candidate thresholds:
every distinct absolute metric difference of a pair, and 0. This is MTME's ``tau_optimization`` at
sample rate 1.0, computed in one pass: within a vector every pair counts 1/pairs, so moving one pair
from "as scored" to "tied by the metric" changes the mean by a fixed amount, and the statistic at a
threshold is the starting value plus the cumulative sum of those changes over the pairs sorted by
their difference. Entries without a human score drop out (metric scores are never missing here).
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


class PairLayout:
    """Every pair of (system, item) entries that share a vector of the grouping and both have a
    human score, built once per human file so each metric (and each resample) is one vector pass."""

    def __init__(self, gold: Gold, num_sys: int, grouping: str) -> None:
        index = reshape(list(range(len(gold))), num_sys, grouping)
        rows = [np.array([p for p in row if gold[p] is not None], dtype=np.intp) for row in index]
        rows = [r for r in rows if len(r) >= 2]
        self.n_rows = len(rows)
        self.n_pairs = sum(len(r) * (len(r) - 1) // 2 for r in rows)
        self.skipped: str | None = None
        if self.n_pairs > MAX_PAIRS:
            self.skipped = f"{self.n_pairs} pairs (limit {MAX_PAIRS})"
        elif not rows:
            self.skipped = "no vector with two scored entries"
        if self.skipped:
            return
        left, right, weight = [], [], []
        for r in rows:
            i, j = np.triu_indices(len(r), 1)
            left.append(r[i])
            right.append(r[j])
            weight.append(np.full(len(i), 1.0 / len(i)))
        self.left, self.right = np.concatenate(left), np.concatenate(right)
        self.weight = np.concatenate(weight)
        human = np.array([0.0 if g is None else g for g in gold], dtype=np.float64)
        self.human_sign = np.sign(human[self.left] - human[self.right])

    def calibrated(self, metric: np.ndarray, variant: str = "acc23") -> Calibrated:
        if variant not in ("acc23", "23"):
            raise ValueError("tie calibration is defined for the '23' and 'acc23' variants only")
        if self.skipped:
            return Calibrated(None, None, self.n_rows, self.n_pairs, self.skipped)
        m_diff = metric[self.left] - metric[self.right]
        agree_now = self.human_sign == np.sign(m_diff)  # as scored (an exact metric tie is a tie already)
        agree_tied = self.human_sign == 0  # once the metric calls the pair a tie
        start = float((agree_now * self.weight).sum())
        delta = (agree_tied.astype(np.float64) - agree_now) * self.weight
        diff = np.abs(m_diff)
        order = np.argsort(diff, kind="stable")
        diff, cum = diff[order], np.cumsum(delta[order])
        # the value at a threshold counts every pair whose difference is <= it: the last of equal diffs
        last = np.r_[diff[1:] != diff[:-1], True]
        thresholds = np.r_[0.0, diff[last]]
        values = np.r_[start, start + cum[last]] / self.n_rows
        if diff[0] == 0.0:  # 0 is a candidate already: drop the duplicate (its pairs change nothing)
            thresholds, values = thresholds[1:], values[1:]
        if variant == "23":
            values = 2.0 * values - 1.0
        # first best, as MTME's argmax; rounding keeps float noise from picking a later equal value
        best = int(np.argmax(np.round(values, 12)))
        return Calibrated(float(values[best]), float(thresholds[best]), self.n_rows, self.n_pairs)


def calibrated(
    gold: Gold, metric: Sequence[float], num_sys: int, grouping: str, variant: str = "acc23"
) -> Calibrated:
    """acc_eq (``acc23``) or tau_eq (``23``) at the optimal tie threshold epsilon."""
    return PairLayout(gold, num_sys, grouping).calibrated(np.asarray(metric, dtype=np.float64), variant)
