"""Paired significance for the gate: re-score both runs' outputs and call mtharness.scoring.significance.

The baseline file keeps its outputs, not its references: the comparability check has already proved
that the current run's dataset (sources and references) is byte-identical, so the current run's
references score both sides. Re-scoring the baseline outputs must reproduce the stored baseline score;
if it does not, the file was edited or the data differ, and the gate stops (exit 2).
"""

from __future__ import annotations

from typing import Any

from mtharness.core import MtharnessError
from mtharness.gate.baseline import RunSnapshot, metric_spec
from mtharness.scoring.metrics import MetricSpec

SCORE_TOLERANCE = 0.01  # scores.json stores 4 decimals; anything further apart is a real mismatch


class SignificanceTester:
    """Paired bootstrap p-values per (direction, metric), computed on first use and kept."""

    def __init__(self, base: RunSnapshot, cur: RunSnapshot, n_resamples: int, seed: int) -> None:
        self.base, self.cur = base, cur
        self.n_resamples, self.seed = n_resamples, seed
        self.results: dict[tuple[str, str], Any] = {}

    def _spec(self, metric: str) -> MetricSpec:
        node = self.base.metrics.get(metric) or self.cur.metrics.get(metric)
        if not node:
            raise MtharnessError(
                f"significance for {metric}: neither run records how {metric} was computed; "
                "re-save the baseline with this mtharness"
            )
        return metric_spec(node)

    def _refs(self, direction: str) -> tuple[list[list[str]], str]:
        pair = str(self.cur.dataset["pair"])
        src, _, tgt = pair.partition("-")
        if direction == "forward":
            if not self.cur.references:
                raise MtharnessError("significance for forward scores: the current run has no references")
            return self.cur.references, tgt
        if self.cur.sources is None:
            raise MtharnessError("significance for round_trip scores: the current run has no sources")
        return [self.cur.sources], src

    def paired(self, direction: str, metric: str) -> Any:
        """sacrebleu-equivalent paired bootstrap of the current run against the baseline."""
        key = (direction, metric)
        if key in self.results:
            return self.results[key]
        from mtharness.scoring.metrics import system_statistics
        from mtharness.scoring.significance import paired_test

        spec = self._spec(metric)
        if spec.segment_mean:
            result = self._paired_means(direction, metric)
            self.results[key] = result
            return result
        refs, trg = self._refs(direction)
        snaps = {"baseline": self.base, "current": self.cur}
        outputs = {name: snap.outputs[direction] for name, snap in snaps.items()}
        (scored,) = system_statistics([spec], outputs, refs, trg, workers=1)
        sides = []
        for name, snap in snaps.items():
            stats = scored[name]
            stored = snap.scores[direction][metric]
            if (
                stats.signature != stored["signature"]
                or abs(stats.score - float(stored["score"])) > SCORE_TOLERANCE
            ):
                raise MtharnessError(
                    f"{snap.origin}: its {direction} outputs re-score to {metric} {stats.score:.4f} "
                    f"({stats.signature}) but it records {float(stored['score']):.4f} ({stored['signature']}); "
                    "the file was edited or made from other data; re-save it"
                )
            sides.append(stats)
        result = paired_test(sides[0], sides[1], method="bs", n_samples=self.n_resamples, seed=self.seed)
        self.results[key] = result
        return result

    def _paired_means(self, direction: str, metric: str) -> Any:
        """Segment-mean metrics (COMET): the paired bootstrap over the stored segment scores (no model runs)."""
        from mtharness.scoring.significance import mean_stats, paired_test

        sides = []
        for name, snap in (("baseline", self.base), ("current", self.cur)):
            scores = snap.segment_scores.get(direction, {}).get(metric)
            stored = snap.scores[direction][metric]
            if scores is None:
                raise MtharnessError(
                    f"{snap.origin}: no {direction} {metric} segment scores for the significance test; "
                    "re-save the baseline from a run made with this mtharness"
                )
            higher = bool(stored.get("higher_is_better", True))
            stats = mean_stats(name, metric, scores, str(stored["signature"]), higher)
            if abs(stats.score - float(stored["score"])) > 1e-6:
                raise MtharnessError(
                    f"{snap.origin}: its {direction} {metric} segment scores average {stats.score:.6f} "
                    f"but it records {float(stored['score']):.6f}; the file was edited; re-save it"
                )
            sides.append(stats)
        return paired_test(sides[0], sides[1], method="bs", n_samples=self.n_resamples, seed=self.seed)

    def p_value(self, direction: str, metric: str) -> float:
        return float(self.paired(direction, metric).p_value)
