"""Ranking with significance clusters, WMT style, from the full N x N matrix of paired tests.

Systems are sorted by score, best first. The best system opens the first cluster; walking down the
ranking, a system joins the current cluster while it is NOT significantly different from the
cluster's best system (its head), and opens a new cluster as soon as it is. So every system shares a
cluster with the systems it cannot be told apart from at the top of that cluster, and two
consecutive clusters' heads always differ significantly. Rank ranges (WMT's "1-3") follow from the
clusters: a system's rank is the range of positions its cluster covers.

Every pair is tested with the same paired test as the baseline comparison (sacrebleu's paired
bootstrap or approximate randomization, same resamples and seed), so the matrix, the clusters and a
``--baseline`` column never disagree.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mtharness.scoring.significance import Method, PairedResult, SystemStats, paired_test


@dataclass(frozen=True)
class Ranking:
    """Systems best first, their clusters, and the p-value of every pair (symmetric)."""

    order: list[str]
    clusters: list[list[str]]
    pairwise: dict[tuple[str, str], PairedResult]
    alpha: float

    def p_value(self, a: str, b: str) -> float:
        if a == b:
            return 1.0
        test = self.pairwise.get((a, b)) or self.pairwise[(b, a)]
        return test.p_value

    def cluster_of(self, system: str) -> int:
        """1-based cluster number."""
        for i, members in enumerate(self.clusters, 1):
            if system in members:
                return i
        raise KeyError(system)

    def rank_range(self, system: str) -> str:
        """WMT's rank range: the positions the system's cluster covers, e.g. '2-4' (or '1')."""
        start = 1
        for members in self.clusters:
            if system in members:
                end = start + len(members) - 1
                return str(start) if start == end else f"{start}-{end}"
            start += len(members)
        raise KeyError(system)

    def to_json(self) -> dict[str, Any]:
        return {
            "order": self.order,
            "clusters": [
                {"cluster": i, "ranks": self.rank_range(m[0]), "systems": m}
                for i, m in enumerate(self.clusters, 1)
            ],
            "pairwise": {
                a: {b: (None if a == b else round(self.p_value(a, b), 4)) for b in self.order}
                for a in self.order
            },
            "alpha": self.alpha,
        }


def sort_best_first(stats: Mapping[str, SystemStats]) -> list[str]:
    """System names by score, best first in the metric's own direction (ties keep input order)."""
    names = list(stats)
    sign = 1.0 if next(iter(stats.values())).higher_is_better else -1.0
    return sorted(names, key=lambda n: (-sign * stats[n].score, names.index(n)))


def pairwise_tests(
    stats: Mapping[str, SystemStats],
    order: Sequence[str],
    method: Method,
    n_samples: int,
    seed: int,
    alpha: float,
    known: Mapping[tuple[str, str], PairedResult] | None = None,
) -> dict[tuple[str, str], PairedResult]:
    """A paired test for every pair (a above b in ``order``); ``known`` results are reused."""
    out: dict[tuple[str, str], PairedResult] = {}
    for a, b in itertools.combinations(order, 2):
        found = (known or {}).get((a, b)) or (known or {}).get((b, a))
        out[(a, b)] = found or paired_test(stats[a], stats[b], method, n_samples, seed, alpha, ci_samples=0)
    return out


def clusters_from(order: Sequence[str], p_value: Any, alpha: float) -> list[list[str]]:
    """Walk the ranking: a system significantly different from its cluster's head opens a new one."""
    clusters: list[list[str]] = []
    for name in order:
        if clusters and p_value(clusters[-1][0], name) >= alpha:
            clusters[-1].append(name)
        else:
            clusters.append([name])
    return clusters


def rank(
    stats: Mapping[str, SystemStats],
    method: Method,
    n_samples: int,
    seed: int,
    alpha: float,
    known: Mapping[tuple[str, str], PairedResult] | None = None,
) -> Ranking:
    """Sort by score, test every pair, cluster."""
    order = sort_best_first(stats)
    tests = pairwise_tests(stats, order, method, n_samples, seed, alpha, known)

    def p(a: str, b: str) -> float:
        return (tests.get((a, b)) or tests[(b, a)]).p_value

    return Ranking(order, clusters_from(order, p, alpha), tests, alpha)
