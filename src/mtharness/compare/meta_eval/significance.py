"""Is metric A really closer to the humans than metric B? PERM-BOTH and the Williams test.

PERM-BOTH (Deutsch et al. 2021, as MTME's ``PermutationSigDiff``): both metrics' scores are
standardised (z-scores over the scored entries), then each resample swaps A's and B's score of every
(system, item) entry with probability 1/2, independently, and recomputes both statistics. The
p-value is the share of resamples whose difference is at least the observed one: small means A's
lead would rarely come from chance. Entries are drawn in MTME's order (grouping vectors one after
the other), with numpy's legacy generator seeded by ``seed``, so the draws are reproducible.

Williams (Graham & Baldwin 2014) compares two dependent Pearson correlations with the same human
scores, using the metrics' correlation with each other; one-sided, as WMT reports it.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from mtharness.compare.meta_eval.stats import Gold, StatFn, reshape
from mtharness.compare.meta_eval.ties import PairLayout

# MTME's early stop: at every block boundary, stop once the p-value is clearly small or large
BLOCK_SIZE = 1000
EARLY_MIN = 0.02
EARLY_MAX = 0.5


@dataclass(frozen=True)
class PermResult:
    p_value: float  # chance of a difference >= delta if A and B were exchangeable
    delta: float  # statistic(A) - statistic(B)
    n_resamples: int  # resamples actually drawn (early stop can end before k)


def _zscore(x: np.ndarray) -> np.ndarray:
    sd = x.std()
    return (x - x.mean()) / sd if sd > 0 else np.zeros_like(x)


def _scored_groups(gold: Gold, num_sys: int, grouping: str) -> tuple[list[np.ndarray], np.ndarray]:
    """Per vector of the grouping, the flat positions with a human score; and those human scores."""
    index = reshape(list(range(len(gold))), num_sys, grouping)
    picked = [np.array([p for p in row if gold[p] is not None], dtype=np.intp) for row in index]
    picked = [p for p in picked if len(p)]
    flat = np.concatenate(picked) if picked else np.zeros(0, dtype=np.intp)
    return picked, np.array([gold[p] for p in flat], dtype=np.float64)


def _mean_defined(values: Sequence[float]) -> float:
    kept = [v for v in values if not math.isnan(v)]
    return float(np.mean(kept)) if kept else 0.0


def _permute(
    stat: Callable[[np.ndarray], float], a: np.ndarray, b: np.ndarray, k: int, seed: int
) -> PermResult:
    """The resampling loop on standardised score vectors ``a`` and ``b`` (A's lead tested)."""
    rng = np.random.RandomState(seed)
    delta = stat(a) - stat(b)
    count, i = 0, 0
    for i in range(1, k + 1):
        take_b = rng.binomial(1, 0.5, len(a))  # MTME's w1, applied to its first (here: B) metric
        from_b = take_b * b + (1 - take_b) * a
        from_a = (1 - take_b) * b + take_b * a
        if stat(from_a) - stat(from_b) >= delta:
            count += 1
        if i % BLOCK_SIZE == 0 and not EARLY_MIN <= count / i <= EARLY_MAX:
            break
    return PermResult(count / i if i else 1.0, delta, i)


def perm_both(
    fn: StatFn,
    gold: Gold,
    metric_a: Sequence[float],
    metric_b: Sequence[float],
    num_sys: int,
    grouping: str,
    k: int = 1000,
    seed: int = 12345,
) -> PermResult:
    """PERM-BOTH p-value that A beats B on ``fn`` averaged over ``grouping``'s vectors."""
    picked, human = _scored_groups(gold, num_sys, grouping)
    flat = np.concatenate(picked) if picked else np.zeros(0, dtype=np.intp)
    a = _zscore(np.asarray(metric_a, dtype=np.float64)[flat])
    b = _zscore(np.asarray(metric_b, dtype=np.float64)[flat])
    bounds = np.r_[0, np.cumsum([len(p) for p in picked])]
    spans = [(int(s), int(e)) for s, e in itertools.pairwise(bounds) if e - s >= 2]

    def stat(scores: np.ndarray) -> float:
        return _mean_defined([fn(human[s:e], scores[s:e]) for s, e in spans])

    return _permute(stat, a, b, k, seed)


def perm_both_calibrated(
    gold: Gold,
    metric_a: Sequence[float],
    metric_b: Sequence[float],
    num_sys: int,
    grouping: str,
    k: int = 1000,
    seed: int = 12345,
    variant: str = "acc23",
) -> PermResult:
    """PERM-BOTH on acc_eq / tau_eq, epsilon calibrated again on every resample.

    As MTME does for this statistic, the whole score vectors are standardised and swapped (entries
    without a human score included; they drop out inside the statistic)."""
    a = _zscore(np.asarray(metric_a, dtype=np.float64))
    b = _zscore(np.asarray(metric_b, dtype=np.float64))

    layout = PairLayout(gold, num_sys, grouping)

    def stat(scores: np.ndarray) -> float:
        value = layout.calibrated(scores, variant).value
        return 0.0 if value is None else value

    return _permute(stat, a, b, k, seed)


def williams_p(r_a: float, r_b: float, r_ab: float, n: int) -> float:
    """One-sided Williams test p-value that the larger of r_a, r_b (each with the humans) is larger
    only by chance, given the correlation r_ab between the two metrics and n scored entries."""
    from scipy import stats as sps

    k = 1 - r_a**2 - r_b**2 - r_ab**2 + 2 * r_a * r_b * r_ab
    mean_r = (r_a + r_b) / 2
    t_num = (r_a - r_b) * math.sqrt((n - 1) * (1 + r_ab))
    t_den = math.sqrt(2 * (n - 1) / (n - 3) * k + mean_r**2 * (1 - r_ab) ** 3)
    if t_den == 0.0:  # the two metrics are the same ranking up to scale: nothing to test
        return math.nan
    return float(sps.t.sf(abs(t_num / t_den), n - 3))


@dataclass(frozen=True)
class WilliamsResult:
    p_value: float | None
    r_a: float
    r_b: float
    r_ab: float
    n: int


def williams(gold: Gold, metric_a: Sequence[float], metric_b: Sequence[float]) -> WilliamsResult:
    """Williams test on the entries with a human score (no grouping). Needs four or more entries."""
    from mtharness.compare.meta_eval.stats import pearson

    keep = [i for i, g in enumerate(gold) if g is not None]
    h = np.array([gold[i] for i in keep], dtype=np.float64)
    a = np.asarray(metric_a, dtype=np.float64)[keep]
    b = np.asarray(metric_b, dtype=np.float64)[keep]
    r_a, r_b, r_ab = pearson(h, a), pearson(h, b), pearson(a, b)
    n = len(keep)
    if n < 4 or any(math.isnan(r) for r in (r_a, r_b, r_ab)):
        return WilliamsResult(None, r_a, r_b, r_ab, n)
    p = williams_p(r_a, r_b, r_ab, n)
    return WilliamsResult(None if math.isnan(p) else p, r_a, r_b, r_ab, n)
