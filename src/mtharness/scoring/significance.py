"""Confidence intervals and paired significance tests on per-segment sufficient statistics.

sacrebleu's metrics reduce every segment to a short vector of counts (n-gram matches for BLEU and
chrF, edits and reference length for TER); a corpus score is a function of the column sums. We
extract those vectors ONCE per system and metric (``system_stats``), then every resample of a
bootstrap or approximate-randomization trial is a weighted sum of rows followed by sacrebleu's own
score-from-statistics function (scoring.sacrebleu_api). That is what makes comparing N systems cheap: the text is tokenised
once, not once per test.

The random draws copy sacrebleu 2.6's ``significance`` module step for step (``default_rng(seed)``,
the same ``choice``/``integers`` calls, the same p-value formula and ``estimate_ci``), so at the same
seed our p-values and CIs equal those of ``sacrebleu.significance.PairedTest`` (whose seed is
``$SACREBLEU_SEED``, default 12345). Typical use::

    base = system_stats(MetricSpec("bleu"), base_hyps, refs, "de", name="Online-B")
    other = system_stats(MetricSpec("bleu"), other_hyps, refs, "de", name="mine")
    res = paired_test(base, other, method="bs", n_samples=1000, seed=12345)
    if res.significant and res.delta < 0: ...  # ``delta`` is signed: system minus baseline
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from sacrebleu.significance import estimate_ci

from mtharness.core import DEFAULT_PRECISION, DEFAULT_SEED, MtharnessError
from mtharness.scoring import sacrebleu_api
from mtharness.scoring.means import MeanMetric, mean_rows
from mtharness.scoring.metrics import (
    MetricSpec,
    SystemStats,
    check_inputs,
    make_metric,
    score_function,
    system_stats_from_raw,
)
from mtharness.scoring.sufstats import statistics, use_fast_ter

__all__ = [
    "DEFAULT_SAMPLES",
    "DEFAULT_SEED",
    "ConfidenceInterval",
    "Method",
    "PairedResult",
    "Scorer",
    "SystemStats",
    "bootstrap_ci",
    "bootstrap_scores",
    "mean_stats",
    "paired_test",
    "system_stats",
]

DEFAULT_SAMPLES = {"bs": 1000, "ar": 10000}  # sacrebleu's PairedTest defaults
Method = Literal["bs", "ar"]
# keep each (samples x segments) weight matrix around 4M cells, whatever the corpus size
_CHUNK_CELLS = 4_000_000


def mean_stats(
    name: str,
    metric_name: str,
    scores: Sequence[float],
    signature: str,
    higher_is_better: bool = True,
    precision: int = DEFAULT_PRECISION,
) -> SystemStats:
    """A system's segment scores (COMET-style) as statistics for bootstrap_ci and paired_test."""
    if not scores:
        raise MtharnessError(f"system {name}: no {metric_name} segment scores")
    values = [float(x) for x in scores]
    return SystemStats(
        name,
        metric_name,
        sum(values) / len(values),
        signature,
        higher_is_better,
        mean_rows(values),
        MeanMetric(),
        precision=precision,
    )


@dataclass(frozen=True)
class ConfidenceInterval:
    """sacrebleu's bootstrap estimate: mean of the resamples and the half-width of the 95% interval."""

    mean: float
    half_width: float
    n_samples: int
    seed: int

    @property
    def low(self) -> float:
        return self.mean - self.half_width

    @property
    def high(self) -> float:
        return self.mean + self.half_width

    def to_json(self) -> dict[str, Any]:
        return {
            "mean": round(self.mean, 4),
            "half_width": round(self.half_width, 4),
            "low": round(self.low, 4),
            "high": round(self.high, 4),
            "n_samples": self.n_samples,
            "seed": self.seed,
        }


@dataclass(frozen=True)
class PairedResult:
    """A paired test of ``system`` against ``baseline`` on one metric.

    ``delta`` is signed (system minus baseline, in the metric's own units): for TER a negative
    delta is an improvement; ``improved`` reads the direction for you. ``p_value`` is two-sided.
    """

    baseline: str
    system: str
    metric_name: str
    method: str
    n_samples: int
    seed: int
    p_value: float
    baseline_score: float
    score: float
    delta: float
    higher_is_better: bool
    ci: ConfidenceInterval | None = None
    alpha: float = 0.05

    @property
    def significant(self) -> bool:
        return self.p_value < self.alpha

    @property
    def improved(self) -> bool:
        return self.delta > 0 if self.higher_is_better else self.delta < 0

    @property
    def marker(self) -> str:
        """``*`` when significant at ``alpha`` (sacrebleu prints the same star)."""
        return "*" if self.significant else ""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "baseline": self.baseline,
            "system": self.system,
            "metric": self.metric_name,
            "method": self.method,
            "n_samples": self.n_samples,
            "seed": self.seed,
            "p_value": round(self.p_value, 4),
            "significant": self.significant,
            "alpha": self.alpha,
            "baseline_score": round(self.baseline_score, 4),
            "score": round(self.score, 4),
            "delta": round(self.delta, 4),
            "improved": self.improved,
        }
        if self.ci is not None:
            out["ci"] = self.ci.to_json()
        return out


class Scorer:
    """One metric against fixed references, tokenised once, scoring systems one at a time.

    For several systems or metrics at once use ``metrics.system_statistics`` (parallel, shared
    extraction); this is its one-metric, one-system-per-call form, with the same statistics.
    """

    def __init__(self, spec: MetricSpec, refs: Sequence[Sequence[str]], trg_lang: str) -> None:
        if not refs:
            raise MtharnessError(f"metric {spec.kind}: significance tests need at least one reference")
        self.spec = spec
        self.n_segments = check_inputs({}, refs)
        self.metric = make_metric(spec, trg_lang)
        sacrebleu_api.set_references(self.metric, refs)

    def stats(self, name: str, hyps: Sequence[str]) -> SystemStats:
        """Extract ``hyps``' per-segment statistics and corpus score (equal to corpus_score)."""
        if len(hyps) != self.n_segments:
            raise MtharnessError(
                f"system {name}: {len(hyps)} lines but the references have {self.n_segments}"
            )
        fast_ter = use_fast_ter([self.metric], [hyps])
        return system_stats_from_raw(name, self.spec, self.metric, statistics(self.metric, hyps, fast_ter))


def system_stats(
    spec: MetricSpec, hyps: Sequence[str], refs: Sequence[Sequence[str]], trg_lang: str, name: str = ""
) -> SystemStats:
    """Statistics of one system (``metrics.system_statistics`` scores several at once)."""
    return Scorer(spec, refs, trg_lang).stats(name, hyps)


def _weighted_scores(sys: SystemStats, weights: np.ndarray, float32: bool) -> np.ndarray:
    """Corpus score of each resample, where row r of ``weights`` says how often each segment counts."""
    sums = weights @ sys.sufstats
    if float32:
        # sacrebleu's bootstrap sums float32 arrays; integer counts are exact either way, and
        # scoring the same float32 values makes our resampled scores bit-identical to its own
        sums = sums.astype(np.float32)
    compute = score_function(sys.metric)
    return np.array([compute(row).score for row in sums], dtype=np.float64)


def _chunks(n_samples: int, n_segments: int) -> list[tuple[int, int]]:
    step = max(1, _CHUNK_CELLS // max(1, n_segments))
    return [(lo, min(lo + step, n_samples)) for lo in range(0, n_samples, step)]


def bootstrap_indices(n_segments: int, n_samples: int, seed: int = DEFAULT_SEED) -> np.ndarray:
    """The segment indices of each bootstrap resample, (n_samples, n_segments): sacrebleu's exact draw.
    Anything resampled alongside a system's scores (human scores, say) must use these indices."""
    rng = np.random.default_rng(seed)
    return rng.choice(n_segments, size=(n_samples, n_segments), replace=True)


# the last weight matrix drawn: every system and metric of a comparison resamples the same segments
_WEIGHTS: dict[tuple[int, int, int], np.ndarray] = {}


def resample_weights(n_segments: int, n_samples: int, seed: int = DEFAULT_SEED) -> np.ndarray:
    """(n_samples, n_segments) counts: how often each bootstrap resample draws each segment.

    Drawn once per (size, samples, seed) and kept (the last one only) as small integers: the index
    draw itself is n_samples x n_segments int64 (800 MB at 100,000 segments), so drawing it once
    instead of once per system and metric saves both the time and the repeated memory peak.
    """
    key = (n_segments, n_samples, seed)
    if key not in _WEIGHTS:
        idxs = bootstrap_indices(n_segments, n_samples, seed)
        counts = np.empty((n_samples, n_segments), dtype=np.uint8)  # counts above 255 are rare
        for lo, hi in _chunks(n_samples, n_segments):
            flat = (idxs[lo:hi] + n_segments * np.arange(hi - lo)[:, None]).ravel()
            block = np.bincount(flat, minlength=(hi - lo) * n_segments).reshape(hi - lo, n_segments)
            if int(block.max()) > np.iinfo(counts.dtype).max:  # widen rather than wrap around
                counts = counts.astype(np.promote_types(counts.dtype, np.min_scalar_type(int(block.max()))))
            counts[lo:hi] = block
        del idxs
        _WEIGHTS.clear()
        _WEIGHTS[key] = counts
    return _WEIGHTS[key]


def bootstrap_scores(sys: SystemStats, n_samples: int = 1000, seed: int = DEFAULT_SEED) -> np.ndarray:
    """Corpus scores of ``n_samples`` bootstrap resamples; the same seed gives the same resamples
    for every system of the same length (that pairing is what the paired bootstrap needs)."""
    key = ("bs", n_samples, seed)
    if key not in sys.resampled:
        n = len(sys)
        counts = resample_weights(n, n_samples, seed)
        # float32 sums reproduce sacrebleu's bootstrap bit for bit; means keep full precision
        float32 = not isinstance(sys.metric, MeanMetric)
        parts = [
            _weighted_scores(sys, counts[lo:hi].astype(np.float64), float32=float32)
            for lo, hi in _chunks(n_samples, n)
        ]
        sys.resampled[key] = np.concatenate(parts)
    return sys.resampled[key]


def bootstrap_ci(sys: SystemStats, n_samples: int = 1000, seed: int = DEFAULT_SEED) -> ConfidenceInterval:
    """95% bootstrap confidence interval (sacrebleu's ``estimate_ci``: mean +- half-width)."""
    if n_samples < 1:
        raise MtharnessError(f"bootstrap needs n_samples >= 1, got {n_samples}")
    mean, half = estimate_ci(bootstrap_scores(sys, n_samples, seed))
    return ConfidenceInterval(float(mean), float(half), n_samples, seed)


def _p_value(sample_stats: np.ndarray, observed: float) -> float:
    # sacrebleu's _compute_p_value: strict '>' and the +1 correction
    return (int(np.sum(sample_stats > observed)) + 1) / (len(sample_stats) + 1)


def _ar_p_value(baseline: SystemStats, system: SystemStats, n_samples: int, seed: int) -> float:
    n = len(baseline)
    rng = np.random.default_rng(seed)
    pos_sel = rng.integers(2, size=(n_samples, n), dtype=bool)  # sacrebleu's exact draw
    diffs = []
    for lo, hi in _chunks(n_samples, n):
        pos = pos_sel[lo:hi].astype(np.float64)
        neg = 1.0 - pos
        # pseudo system A takes the baseline's segment where pos is set, B the other one
        a = baseline.sufstats.T @ pos.T + system.sufstats.T @ neg.T
        b = baseline.sufstats.T @ neg.T + system.sufstats.T @ pos.T
        compute = score_function(baseline.metric)
        # plain Python numbers: the same values sacrebleu's integer matmul gives, scored ~5x faster
        scores_a = np.array([compute(row).score for row in a.T.tolist()])
        scores_b = np.array([compute(row).score for row in b.T.tolist()])
        diffs.append(np.abs(scores_a - scores_b))
    return _p_value(np.concatenate(diffs), abs(baseline.score - system.score))


def paired_test(
    baseline: SystemStats,
    system: SystemStats,
    method: Method = "bs",
    n_samples: int | None = None,
    seed: int = DEFAULT_SEED,
    alpha: float = 0.05,
    ci_samples: int = 1000,
) -> PairedResult:
    """Paired bootstrap (``bs``) or approximate randomization (``ar``) test, sacrebleu's methods.

    ``n_samples`` defaults to sacrebleu's (1000 for bs, 10000 for ar). The system's 95% CI comes from
    the same bootstrap resamples as the bs test (``ci_samples`` of them for ar; 0 skips it).
    """
    if method not in DEFAULT_SAMPLES:
        raise MtharnessError(f"paired test method {method!r}: choose bs or ar")
    if baseline.metric_name != system.metric_name or baseline.signature != system.signature:
        raise MtharnessError(
            f"cannot compare {system.name} ({system.signature}) with {baseline.name} ({baseline.signature})"
        )
    if len(baseline) != len(system):
        raise MtharnessError(
            f"system {system.name} has {len(system)} segments, baseline {baseline.name} {len(baseline)}"
        )
    n = n_samples or DEFAULT_SAMPLES[method]
    observed = abs(baseline.score - system.score)
    ci = None
    if method == "bs":
        sys_scores = bootstrap_scores(system, n, seed)
        sample_diffs = np.abs(sys_scores - bootstrap_scores(baseline, n, seed))
        # centre the differences (null hypothesis of no difference), as the Moses script and sacrebleu do
        p = _p_value(sample_diffs - sample_diffs.mean(), observed)
        if observed == 0.0:  # no difference at all is never significant (sacrebleu would say 1/(n+1))
            p = 1.0
        mean, half = estimate_ci(sys_scores)
        ci = ConfidenceInterval(float(mean), float(half), n, seed)
    else:
        p = 1.0 if observed == 0.0 else _ar_p_value(baseline, system, n, seed)
        if ci_samples > 0:
            ci = bootstrap_ci(system, ci_samples, seed)
    return PairedResult(
        baseline=baseline.name,
        system=system.name,
        metric_name=system.metric_name,
        method=method,
        n_samples=n,
        seed=seed,
        p_value=float(p),
        baseline_score=baseline.score,
        score=system.score,
        delta=system.score - baseline.score,
        higher_is_better=system.higher_is_better,
        ci=ci,
        alpha=alpha,
    )
