"""N systems on the same sources and references, scored by one COMET-family scorer in one pass.

unbabel-comet's ``predict()`` scores one list of (src, mt, ref) items: called once per system, it
encodes every source and reference N times. Here the N systems' items go to the worker together,
segment by segment (all systems of segment 1, then of segment 2, ...), so each request holds every
system's translation of its segments beside one copy of their source and reference: the worker
encodes each distinct string of a request once (estimator-style COMET; see worker.py), and identical
(src, mt, ref) items (two systems with the same output) are scored once and cached. Each system's
scores are the ones ``score()`` gives it alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from mtharness.core import MetricResult, MtharnessError

if TYPE_CHECKING:
    from mtharness.scoring.comet.metric import CometScorer


def score_systems(
    scorer: CometScorer,
    sources: Sequence[str],
    systems: Mapping[str, Sequence[str]],
    refs: Sequence[str] | None,
) -> dict[str, tuple[MetricResult, list[float]]]:
    """Each system's result and segment scores, in the order of ``systems``."""
    names = list(systems)
    for name in names:
        if len(systems[name]) != len(sources):
            raise MtharnessError(
                f"system {name}: {len(systems[name])} translations for {len(sources)} source segments"
            )
    if not names:
        return {}
    n = len(names)
    # segment-major: a request of the worker covers every system of a run of segments
    srcs = [s for s in sources for _ in range(n)]
    hyps = [systems[name][i] for i in range(len(sources)) for name in names]
    both = None if refs is None else [r for r in refs for _ in range(n)]
    _, scores = scorer.score(srcs, hyps, both)
    return {name: (scorer.result(scores[j::n]), scores[j::n]) for j, name in enumerate(names)}
