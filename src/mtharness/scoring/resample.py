"""Bootstrap resamples of many systems at once, spread over forked worker processes.

A comparison needs every system's bootstrap scores for every metric (the CIs, the paired bootstrap
and the all-pairs ranking all read them from ``SystemStats.resampled``). Each one is independent
of the others and costs a weighted sum of the per-segment statistics plus ~1000 calls of sacrebleu's
pure-Python score function, so threads would not help; forked processes do. The resample weights
are drawn once in the parent (``significance.resample_weights``), so the workers inherit them
copy-on-write and every resample is the one the serial path draws: results are equal, not close.
"""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Sequence

import numpy as np

from mtharness.host import usable_cores
from mtharness.scoring.significance import SystemStats, bootstrap_scores, resample_weights
from mtharness.scoring.sufstats import can_fork

# Below this many score computations (systems x resamples) the pool's start-up (30-90 ms on the
# 2-core dev machine under load) is not repaid: 4 x 1000 sacrebleu score calls take ~0.1-0.3 s.
MIN_PARALLEL_SCORES = 8_000

# the job a forked pool works on, set in the parent right before the fork (workers inherit it)
_JOB: tuple[Sequence[SystemStats], int, int] | None = None


def _one(i: int) -> np.ndarray:
    assert _JOB is not None, "the pool was not forked from prefetch"
    todo, n_samples, seed = _JOB
    return bootstrap_scores(todo[i], n_samples, seed)


def prefetch(stats: Sequence[SystemStats], n_samples: int, seed: int, workers: int | None = None) -> None:
    """Fill each system's ``resampled[("bs", n_samples, seed)]``, in parallel where it pays.

    ``workers=None``: every usable core once the job is big enough; 1: never fork. Systems of
    different lengths are left to the serial path (they never share resamples).
    """
    key = ("bs", n_samples, seed)
    todo = [s for s in stats if key not in s.resampled]
    if not todo:
        return
    n_workers = usable_cores() if workers is None else max(1, workers)
    big = workers is not None or len(todo) * n_samples >= MIN_PARALLEL_SCORES
    if n_workers == 1 or len(todo) < 2 or not big or not can_fork() or len({len(s) for s in todo}) > 1:
        for s in todo:
            bootstrap_scores(s, n_samples, seed)
        return
    resample_weights(len(todo[0]), n_samples, seed)  # drawn here, inherited by every worker
    global _JOB
    _JOB = (todo, n_samples, seed)
    try:
        with mp.get_context("fork").Pool(min(n_workers, len(todo))) as pool:
            scores = pool.map(_one, range(len(todo)), chunksize=1)
    finally:
        _JOB = None
    for s, sc in zip(todo, scores, strict=True):
        s.resampled[key] = sc
