"""Agreement statistics between human and metric scores, defined as mt-metrics-eval defines them.

Scores come as one flat list per side, system-major: ``num_sys`` consecutive blocks of ``num_items``
(one block per system; ``num_items`` is 1 at system level). Human scores may be ``None`` (not
annotated); metric scores may not. A *grouping* turns the flat lists into vectors to correlate:

- ``none``: one vector of every (system, item) pair;
- ``item``: one vector per item, across systems (the WMT23/24 segment-level choice);
- ``system``: one vector per system, across items.

In each vector the positions with a missing human score are dropped (the metric score goes with
it); a vector left with fewer than two entries is skipped. The statistic of a grouping is the plain
mean over the vectors where it is defined (Pearson and Spearman are undefined on a constant vector,
Kendall b/c when one side is all ties): MTME's ``AverageCorrelation`` with its defaults.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

GROUPINGS = ("none", "item", "system")
KENDALL_VARIANTS = ("b", "c", "23", "acc23")

Gold = Sequence[float | None]
StatFn = Callable[[np.ndarray, np.ndarray], float]


def reshape(values: Sequence[float | None], num_sys: int, grouping: str) -> np.ndarray:
    """The flat list as an object matrix whose rows are the vectors of ``grouping``."""
    flat = np.asarray(values, dtype=object)
    if grouping == "none":
        return flat.reshape(1, -1)
    if grouping == "system":
        return flat.reshape(num_sys, -1)
    if grouping == "item":
        return flat.reshape(num_sys, -1).T
    raise ValueError(f"unknown grouping {grouping!r}; choose from {GROUPINGS}")


def groups(
    gold: Gold, metric: Sequence[float], num_sys: int, grouping: str
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(human, metric) float vectors of the grouping, missing human scores dropped, short ones skipped."""
    out = []
    for g_row, m_row in zip(
        reshape(gold, num_sys, grouping), reshape(metric, num_sys, grouping), strict=True
    ):
        keep = np.array([g is not None for g in g_row], dtype=bool)
        if keep.sum() < 2:
            continue
        out.append((g_row[keep].astype(np.float64), m_row[keep].astype(np.float64)))
    return out


def _constant(x: np.ndarray) -> bool:
    return bool(np.all(x == x[0]))


def pearson(gold: np.ndarray, metric: np.ndarray) -> float:
    """Pearson's r; NaN when either side is constant (as MTME keeps it since scipy 1.14 returns 0)."""
    from scipy import stats as sps

    if _constant(gold) or _constant(metric):
        return math.nan
    return float(sps.pearsonr(gold, metric)[0])


def spearman(gold: np.ndarray, metric: np.ndarray) -> float:
    """Spearman's rho; NaN when either side is constant."""
    from scipy import stats as sps

    if _constant(gold) or _constant(metric):
        return math.nan
    return float(sps.spearmanr(gold, metric)[0])


@dataclass(frozen=True)
class PairCounts:
    """Kendall's pair counts over all pairs of one vector (metric ties at epsilon 0)."""

    concordant: int
    discordant: int
    ties_human: int  # tied in the human scores only
    ties_metric: int  # tied in the metric scores only
    ties_both: int

    @property
    def pairs(self) -> int:
        return self.concordant + self.discordant + self.ties_human + self.ties_metric + self.ties_both


def _tied_pairs(*columns: np.ndarray) -> int:
    _, counts = np.unique(np.stack(columns, axis=1), axis=0, return_counts=True)
    return int((counts * (counts - 1) // 2).sum())


def pair_counts(gold: np.ndarray, metric: np.ndarray) -> PairCounts:
    """The five counts in O(n log n): ties from group sizes, C - D from scipy's tau-b numerator."""
    from scipy import stats as sps

    n = len(gold)
    total = n * (n - 1) // 2
    tie_h, tie_m, tie_both = _tied_pairs(gold), _tied_pairs(metric), _tied_pairs(gold, metric)
    untied = total - tie_h - tie_m + tie_both  # pairs tied on neither side: C + D
    if tie_h == total or tie_m == total:
        diff = 0
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tau_b = float(sps.kendalltau(metric, gold, variant="b")[0])
        # tau-b = (C - D) / sqrt((total - ties_metric) (total - ties_human)), an integer numerator
        diff = round(tau_b * math.sqrt(total - tie_m) * math.sqrt(total - tie_h))
    concordant = (untied + diff) // 2
    return PairCounts(concordant, untied - concordant, tie_h - tie_both, tie_m - tie_both, tie_both)


def kendall(gold: np.ndarray, metric: np.ndarray, variant: str = "b") -> float:
    """Kendall's tau-b or tau-c (scipy), or Deutsch et al. (2023)'s tau_23 / acc_23 at epsilon 0.

    tau_23 counts a pair tied on both sides as agreement and a tie on one side only as disagreement;
    acc_23 (``acc_eq``) is the share of pairs in agreement that way."""
    from scipy import stats as sps

    if variant in ("b", "c"):
        if len(set(gold.tolist())) < 2 or len(set(metric.tolist())) < 2:
            return math.nan
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return float(sps.kendalltau(gold, metric, variant=variant)[0])
    c = pair_counts(gold, metric)
    agree = c.concordant + c.ties_both
    if variant == "23":
        return (2 * agree - c.pairs) / c.pairs
    if variant == "acc23":
        return agree / c.pairs
    raise ValueError(f"unknown Kendall variant {variant!r}; choose from {KENDALL_VARIANTS}")


def pairwise_accuracy(gold: np.ndarray, metric: np.ndarray) -> float:
    """Kocmi et al. (2021): share of pairs the metric orders as the humans do (sign of the
    difference, so a pair tied by the humans counts only when the metric ties it too)."""
    agree = total = 0
    for i, j in itertools.combinations(range(len(gold)), 2):
        total += 1
        agree += int(np.sign(gold[i] - gold[j]) == np.sign(metric[i] - metric[j]))
    return agree / total if total else math.nan


@dataclass(frozen=True)
class Grouped:
    """A statistic averaged over the vectors of one grouping."""

    value: float | None  # None: defined on no vector
    n_groups: int  # vectors where it was defined (the denominator of the mean)
    n_pairs: int  # (system, item) pairs with a human score in those vectors


def average(fn: StatFn, gold: Gold, metric: Sequence[float], num_sys: int, grouping: str) -> Grouped:
    """Mean of ``fn`` over the grouping's vectors where it is defined."""
    values, used = [], 0
    for g, m in groups(gold, metric, num_sys, grouping):
        v = fn(g, m)
        if not math.isnan(v):
            values.append(v)
            used += len(g)
    return Grouped(float(np.mean(values)) if values else None, len(values), used)


def system_pvalues(seg_scores: np.ndarray, n_perm: int, seed: int) -> np.ndarray:
    """Paired permutation p-values of "system i beats system j" (i < j) from segment scores.

    WMT24's recipe (Thompson et al., pce.py in MTME): the same ``n_perm`` random swaps of the two
    systems' segment scores for every pair, drawn in float32 from ``default_rng(seed)``."""
    n_sys, n_seg = seg_scores.shape
    rng = np.random.default_rng(seed)
    signs = np.rint(rng.random(size=(n_perm, n_seg), dtype=np.float32)) * np.float32(2.0) - np.float32(1.0)
    scores = seg_scores.astype(np.float32)
    totals = scores.sum(axis=1)
    null = signs @ scores.T  # (n_perm, n_sys): each system's signed total under each swap
    out = np.full((n_sys, n_sys), np.nan)
    for i in range(n_sys):
        for j in range(i + 1, n_sys):
            out[i, j] = np.sum(null[:, i] - null[:, j] >= totals[i] - totals[j]) / n_perm
    return out


def soft_pairwise_accuracy(gold: np.ndarray, metric: np.ndarray, n_perm: int = 1000, seed: int = 4) -> float:
    """WMT24's soft pairwise accuracy (1 - pairwise confidence error): 1 minus the mean absolute
    difference between the human and the metric p-value of each system pair. ``gold`` and ``metric``
    are (systems x segments) matrices without missing values."""
    upper = np.triu_indices(gold.shape[0], 1)
    diff = np.abs(system_pvalues(gold, n_perm, seed) - system_pvalues(metric, n_perm, seed))
    return float(1.0 - np.mean(diff[upper]))
