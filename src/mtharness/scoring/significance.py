"""Confidence intervals and paired significance tests on per-segment sufficient statistics.

sacrebleu's metrics reduce every segment to a short vector of counts (n-gram matches for BLEU and
chrF, edits and reference length for TER); a corpus score is a function of the column sums. We
extract those vectors ONCE per system and metric (``system_stats``), then every resample of a
bootstrap or approximate-randomization trial is a weighted sum of rows followed by sacrebleu's own
``_compute_score_from_stats``. That is what makes comparing N systems cheap: the text is tokenised
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
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from sacrebleu.metrics.base import Metric
from sacrebleu.significance import estimate_ci

from mtharness.core import DEFAULT_SEED, MtharnessError
from mtharness.scoring.metrics import MetricSpec, make_metric
from mtharness.scoring.sufstats import extract_statistics, statistics, use_fast_ter

DEFAULT_SAMPLES = {"bs": 1000, "ar": 10000}  # sacrebleu's PairedTest defaults
Method = Literal["bs", "ar"]
# keep each (samples x segments) weight matrix around 4M cells, whatever the corpus size
_CHUNK_CELLS = 4_000_000


@dataclass(frozen=True)
class MeanScore:
    score: float


class MeanMetric:
    """A metric whose corpus score is the mean of its segment scores (COMET, CometKiwi).

    Its per-segment "sufficient statistics" are the rows (segment score, 1): a resample's column sums
    are (sum of scores, count), and their ratio is the resample's system score, exactly what
    ``predict()`` computes on it. So bootstrap CIs and paired tests run through the same weighted-sum
    machinery as sacrebleu's counts: resampling means, as comet-compare does.
    """

    def _compute_score_from_stats(self, stats: Sequence[float] | np.ndarray) -> MeanScore:
        return MeanScore(float(stats[0]) / float(stats[1]))


def mean_stats(
    name: str, metric_name: str, scores: Sequence[float], signature: str, higher_is_better: bool = True
) -> SystemStats:
    """A system's segment scores (COMET-style) as statistics for bootstrap_ci and paired_test."""
    if not scores:
        raise MtharnessError(f"system {name}: no {metric_name} segment scores")
    values = [float(x) for x in scores]
    stats = np.column_stack([np.asarray(values, dtype=np.float64), np.ones(len(values))])
    return SystemStats(
        name, metric_name, sum(values) / len(values), signature, higher_is_better, stats, MeanMetric()
    )


@dataclass(frozen=True, eq=False)  # eq=False: identity equality (numpy arrays have no truth value)
class SystemStats:
    """One system's per-segment sufficient statistics for one metric, plus its corpus score."""

    name: str
    metric_name: str  # sacrebleu's score name: BLEU, chrF2, chrF2++, TER
    score: float
    signature: str
    higher_is_better: bool
    stats: np.ndarray = field(repr=False)  # (n_segments, n_stats), float64
    metric: Metric | MeanMetric = field(repr=False, compare=False)
    # (method, n_samples, seed) -> resampled corpus scores; filled lazily, shared by CI and tests
    _cache: dict[tuple[str, int, int], np.ndarray] = field(default_factory=dict, repr=False, compare=False)

    def __len__(self) -> int:
        return int(self.stats.shape[0])

    def segment_scores(self) -> list[float]:
        """Each segment scored alone from its own statistics (chrF equals sentence_score)."""
        return [float(self.metric._compute_score_from_stats(row).score) for row in self.stats]


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
    """One sacrebleu metric with the references tokenised once, for scoring many systems."""

    def __init__(self, spec: MetricSpec, refs: Sequence[Sequence[str]], trg_lang: str) -> None:
        if not refs:
            raise MtharnessError(f"metric {spec.kind}: significance tests need at least one reference")
        lengths = {len(r) for r in refs}
        if len(lengths) != 1:
            raise MtharnessError(f"reference streams differ in length: {sorted(lengths)}")
        self.spec = spec
        self.n_segments = lengths.pop()
        self.metric = make_metric(spec, trg_lang)
        self.refs = [list(r) for r in refs]  # for chunked extraction (sufstats)
        # sacrebleu reads refs from this cache when _extract_corpus_statistics gets refs=None
        self.metric._ref_cache = self.metric._cache_references([list(r) for r in refs])

    def stats(self, name: str, hyps: Sequence[str]) -> SystemStats:
        """Extract ``hyps``' per-segment statistics and corpus score (equal to corpus_score)."""
        if len(hyps) != self.n_segments:
            raise MtharnessError(
                f"system {name}: {len(hyps)} lines but the references have {self.n_segments}"
            )
        fast_ter = use_fast_ter([self.metric], [hyps])
        return self.from_raw(name, statistics(self.metric, hyps, fast_ter))

    def from_raw(self, name: str, raw: list[Any]) -> SystemStats:
        """Wrap statistics sacrebleu extracted (here or in a worker process) with score and signature."""
        score = self.metric._aggregate_and_compute(raw)  # exactly what corpus_score returns
        return SystemStats(
            name=name,
            metric_name=score.name,
            score=float(score.score),
            signature=self.metric.get_signature().format(),
            higher_is_better=self.spec.higher_is_better,
            stats=np.asarray(raw, dtype=np.float64).reshape(len(raw), -1),
            metric=self.metric,
        )


def system_stats(
    spec: MetricSpec, hyps: Sequence[str], refs: Sequence[Sequence[str]], trg_lang: str, name: str = ""
) -> SystemStats:
    """Statistics of one system (use ``Scorer`` directly to share the reference cache across systems)."""
    return Scorer(spec, refs, trg_lang).stats(name, hyps)


def extract_all(
    scorers: Sequence[Scorer], systems: dict[str, list[str]], jobs: int = 1
) -> list[dict[str, SystemStats]]:
    """Statistics of every system for every scorer; ``jobs`` > 1 extracts in forked worker processes.

    Extraction (tokenising, n-gram counting, TER's edit search) is nearly all of the run time and is
    independent per system and metric, so it parallelises cleanly; references are cached in the
    parent first and inherited by the workers.
    """
    tasks = [(i, name) for i in range(len(scorers)) for name in systems]
    if jobs <= 1 or len(tasks) <= 1:
        return [{name: sc.stats(name, hyps) for name, hyps in systems.items()} for sc in scorers]
    for sc in scorers:  # same length checks as the serial path, before forking
        for name, hyps in systems.items():
            if len(hyps) != sc.n_segments:
                raise MtharnessError(
                    f"system {name}: {len(hyps)} lines but the references have {sc.n_segments}"
                )
    # chunks of segments over `jobs` forked workers, references preprocessed once per chunk and
    # metric for every system (mtharness.scoring.sufstats); the rows are sacrebleu's, in order
    names = list(systems)
    out: list[dict[str, SystemStats]] = [{} for _ in scorers]
    for group in _same_refs(scorers):
        raws = extract_statistics(
            [scorers[i].metric for i in group], [systems[n] for n in names], scorers[group[0]].refs, jobs
        )
        for i, per_system in zip(group, raws, strict=True):
            for name, raw in zip(names, per_system, strict=True):
                out[i][name] = scorers[i].from_raw(name, raw)
    return out


def _same_refs(scorers: Sequence[Scorer]) -> list[list[int]]:
    """Scorer indices grouped by equal references (usually one group: every metric, same refs)."""
    groups: list[list[int]] = []
    for i, sc in enumerate(scorers):
        for g in groups:
            if scorers[g[0]].refs == sc.refs:
                g.append(i)
                break
        else:
            groups.append([i])
    return groups


def _weighted_scores(sys: SystemStats, weights: np.ndarray, float32: bool) -> np.ndarray:
    """Corpus score of each resample, where row r of ``weights`` says how often each segment counts."""
    sums = weights @ sys.stats
    if float32:
        # sacrebleu's bootstrap sums float32 arrays; integer counts are exact either way, and
        # scoring the same float32 values makes our resampled scores bit-identical to its own
        sums = sums.astype(np.float32)
    compute = sys.metric._compute_score_from_stats
    return np.array([compute(row).score for row in sums], dtype=np.float64)


def _chunks(n_samples: int, n_segments: int) -> list[tuple[int, int]]:
    step = max(1, _CHUNK_CELLS // max(1, n_segments))
    return [(lo, min(lo + step, n_samples)) for lo in range(0, n_samples, step)]


def bootstrap_indices(n_segments: int, n_samples: int, seed: int = DEFAULT_SEED) -> np.ndarray:
    """The segment indices of each bootstrap resample, (n_samples, n_segments): sacrebleu's exact draw.
    Anything resampled alongside a system's scores (human scores, say) must use these indices."""
    rng = np.random.default_rng(seed)
    return rng.choice(n_segments, size=(n_samples, n_segments), replace=True)


def bootstrap_scores(sys: SystemStats, n_samples: int = 1000, seed: int = DEFAULT_SEED) -> np.ndarray:
    """Corpus scores of ``n_samples`` bootstrap resamples; the same seed gives the same resamples
    for every system of the same length (that pairing is what the paired bootstrap needs)."""
    key = ("bs", n_samples, seed)
    if key not in sys._cache:
        n = len(sys)
        idxs = bootstrap_indices(n, n_samples, seed)
        parts = []
        for lo, hi in _chunks(n_samples, n):
            block = idxs[lo:hi]
            flat = (block + n * np.arange(hi - lo)[:, None]).ravel()
            weights = np.bincount(flat, minlength=(hi - lo) * n).reshape(hi - lo, n)
            # float32 sums reproduce sacrebleu's bootstrap bit for bit; means keep full precision
            float32 = not isinstance(sys.metric, MeanMetric)
            parts.append(_weighted_scores(sys, weights.astype(np.float64), float32=float32))
        sys._cache[key] = np.concatenate(parts)
    return sys._cache[key]


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
        a = baseline.stats.T @ pos.T + system.stats.T @ neg.T
        b = baseline.stats.T @ neg.T + system.stats.T @ pos.T
        compute = baseline.metric._compute_score_from_stats
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
        mean, half = estimate_ci(sys_scores)
        ci = ConfidenceInterval(float(mean), float(half), n, seed)
    else:
        p = _ar_p_value(baseline, system, n, seed)
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
