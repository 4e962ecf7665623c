"""Significance clusters of metrics, as the WMT metrics-task tables show them (MTME's AssignRanks).

Metrics are sorted by the statistic, best first (ties by name). Walking down that order, a metric
starts a new cluster (rank + 1) when some metric between the current cluster's first member and it
beats it significantly (p <= alpha). So rank 1 holds the best metric and every metric that none of
the rank-1 metrics above it outperforms significantly; a metric's rank is its cluster number.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mtharness.compare.meta_eval.significance import PermResult


@dataclass
class Ranked:
    """Metrics best first with their rank and the p-value of every pair tested (i above j)."""

    order: list[str]
    values: dict[str, float]
    ranks: dict[str, int]
    pvalues: dict[tuple[str, str], PermResult] = field(default_factory=dict)
    cpu_seconds: float = 0.0  # CPU time of all the pair tests (the runtime of the resamples)

    def to_json(self) -> dict[str, Any]:
        return {
            "order": self.order,
            "ranks": self.ranks,
            **({"test_cpu_seconds": round(self.cpu_seconds, 3)} if self.pvalues else {}),
            "pairs": [
                {"better": a, "worse": b, "p_value": r.p_value, "delta": r.delta, "resamples": r.n_resamples}
                for (a, b), r in self.pvalues.items()
            ],
        }


def best_first(values: Mapping[str, float]) -> list[str]:
    return sorted(values, key=lambda m: (-values[m], m))


def assign_ranks(order: list[str], p_value: Callable[[str, str], float], alpha: float) -> dict[str, int]:
    """Cluster number of each metric, from the p-values of "order[i] beats order[j]" (i < j)."""
    ranks: dict[str, int] = {}
    rank, start = 1, 0
    for j, metric in enumerate(order):
        if any(p_value(order[i], metric) <= alpha for i in range(start, j)):
            rank, start = rank + 1, j
        ranks[metric] = rank
    return ranks


def rank_metrics(
    values: Mapping[str, float], test: Callable[[str, str], PermResult] | None, alpha: float = 0.05
) -> Ranked:
    """Order and (with ``test``) cluster the metrics; without a test every metric gets its position."""
    order = best_first(values)
    if test is None:
        return Ranked(order, dict(values), {m: i for i, m in enumerate(order, 1)})
    start = time.process_time()
    results = {
        (order[i], order[j]): test(order[i], order[j])
        for i in range(len(order))
        for j in range(i + 1, len(order))
    }
    ranks = assign_ranks(order, lambda a, b: results[(a, b)].p_value, alpha)
    return Ranked(order, dict(values), ranks, results, time.process_time() - start)
