"""Compare N systems on the same references: scores, signatures, bootstrap CIs and paired tests.

Inputs come either from plain files (a source, references, one output file per system) or from
finished run folders (``segments.jsonl``), where each run gives a forward comparison against the
references and a round-trip comparison against the source. Statistics are extracted once per
system and metric (``scoring.metrics.system_statistics``) and shared by the CI, the paired test and the length buckets.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mtharness.compare.clusters import Ranking, rank, sort_best_first
from mtharness.core import DEFAULT_PRECISION, DEFAULT_SEED, MtharnessError
from mtharness.scoring.means import MeanMetric
from mtharness.scoring.metrics import MetricSpec, system_statistics
from mtharness.scoring.resample import prefetch
from mtharness.scoring.significance import (
    DEFAULT_SAMPLES,
    ConfidenceInterval,
    Method,
    PairedResult,
    SystemStats,
    bootstrap_ci,
    paired_test,
)
from mtharness.textio import check_same_length, read_lines

SCHEMA_VERSION = 1


@dataclass
class CompareInput:
    """Aligned texts of one comparison: references (sacrebleu layout) and one output list per system."""

    label: str  # "forward" or "round_trip"
    trg_lang: str
    refs: list[list[str]]
    systems: dict[str, list[str]]  # name -> outputs, baseline first
    sources: list[str] | None = None
    ref_names: list[str] = field(default_factory=list)
    baseline: str | None = None  # the system named by --baseline; None: rank all, no single reference
    pivots: dict[str, list[str]] | None = None  # round trips of runs: each system's forward output
    # COMET-family segment scores already at hand (run folders): metric name -> system -> stats
    # segment-mean metrics' stored segment scores (run folders): score name -> system -> statistics
    segment_means: dict[str, dict[str, SystemStats]] = field(default_factory=dict)
    # error spans the runs stored (compare.error_spans.SpanTable): metric -> system -> per segment
    error_spans: dict[str, dict[str, list[Any]]] = field(default_factory=dict)
    src_lang: str | None = None  # the language of ``sources`` (None: not known, e.g. plain files)

    @property
    def n_segments(self) -> int:
        return len(self.refs[0])


@dataclass
class MetricComparison:
    """Every system's score, CI and (except the baseline) paired test for one metric."""

    name: str
    signature: str
    higher_is_better: bool
    stats: dict[str, SystemStats]
    ci: dict[str, ConfidenceInterval]
    tests: dict[str, PairedResult]
    test_signature: str = ""  # sacrebleu's signature of the paired test (adds bs|ar:N and seed)
    ranking: Ranking | None = None  # every pair tested, WMT-style clusters (None without a test)
    precision: int = DEFAULT_PRECISION  # the metric's display decimals (COMET 4)


@dataclass
class Comparison:
    inp: CompareInput
    baseline: str
    metrics: list[MetricComparison]
    method: str | None
    n_samples: int
    seed: int
    alpha: float
    ci_samples: int
    # Filled by the views that ask for them; each is a key of the JSON only when set.
    warnings: list[str] = field(default_factory=list)  # copy / off-target notes on a round trip
    analysis: dict[str, Any] | None = None  # --analysis/--html: buckets, wins/losses, worst lines
    error_spans: dict[str, Any] | None = None  # the runs' stored error spans, summarised
    human: dict[str, Any] | None = None  # --human: the metrics' correlations with human scores
    segment_metric: str = ""  # the sentence-level metric of the analysis (chrF), and its scores
    segment_scores: dict[str, list[float]] = field(default_factory=dict)
    baseline_given: bool = True  # False: `baseline` is only the best system, the reference of the analysis

    @property
    def systems(self) -> list[str]:
        return list(self.inp.systems)

    def metric(self, name: str) -> MetricComparison:
        for m in self.metrics:
            if m.name == name:
                return m
        raise KeyError(name)


def system_name(path: str | Path, trg_lang: str) -> str:
    """systems/Online-B.de -> Online-B (the file name without the target-language suffix)."""
    name = Path(path).name
    suffix = f".{trg_lang}"
    if name.endswith(suffix) and len(name) > len(suffix):
        return name[: -len(suffix)]
    return Path(name).stem if "." in name else name


def order_systems(systems: dict[str, list[str]], baseline: str | None) -> dict[str, list[str]]:
    """Check the systems and the --baseline name; the baseline goes first (until compare() ranks them)."""
    if not systems:
        raise MtharnessError("no systems to compare: give --systems FILE [FILE ...] or run folders")
    if baseline is None:
        return systems
    if baseline not in systems:
        raise MtharnessError(f"--baseline {baseline!r} is not one of the systems: {list(systems)}")
    return {baseline: systems[baseline], **{k: v for k, v in systems.items() if k != baseline}}


def inputs_from_files(
    src: str | None,
    refs: Sequence[str],
    systems: Sequence[str],
    trg_lang: str,
    baseline: str | None = None,
    src_lang: str | None = None,
) -> CompareInput:
    """Read --src/--refs/--systems; every file must have the same number of lines."""
    if not refs:
        raise MtharnessError("--refs: give at least one reference file")
    ref_lines = [read_lines(r, "reference file") for r in refs]
    for r, lines in zip(refs[1:], ref_lines[1:], strict=True):
        check_same_length(ref_lines[0], refs[0], lines, r)
    sources = None
    if src:
        sources = read_lines(src, "source file")
        check_same_length(sources, src, ref_lines[0], refs[0])
    outputs: dict[str, list[str]] = {}
    for path in systems:
        name = system_name(path, trg_lang)
        if name in outputs:
            raise MtharnessError(f"--systems: two files give the system name {name!r} ({path})")
        lines = read_lines(path, "system output")
        check_same_length(ref_lines[0], refs[0], lines, path)
        outputs[name] = lines
    return CompareInput(
        label="forward",
        trg_lang=trg_lang,
        refs=ref_lines,
        systems=order_systems(outputs, baseline),
        sources=sources,
        ref_names=[Path(r).name for r in refs],
        baseline=baseline,
        src_lang=src_lang,
    )


def compare(
    inp: CompareInput,
    specs: Sequence[MetricSpec],
    method: Method | None = "bs",
    n_samples: int | None = None,
    seed: int = DEFAULT_SEED,
    alpha: float = 0.05,
    ci_samples: int = 1000,
    jobs: int | None = 1,
    cache_dir: str | Path | None = None,
) -> Comparison:
    """Score every system with every metric; CIs for all; every pair tested and ranked in clusters.

    Systems come out sorted by the first metric, best first. With ``inp.baseline`` set, each system
    also gets its paired test against that baseline; without it the best system is the reference of
    the analysis. ``jobs`` > 1 extracts the per-segment statistics in that many worker processes
    (None: every usable core once the work repays the pool).
    Segment-mean metrics (COMET) come from ``compare.segment_metrics`` (``cache_dir`` keeps them).
    """
    n = n_samples or (DEFAULT_SAMPLES[method] if method else 0)
    all_stats = _all_stats(inp, specs, jobs, cache_dir)
    order = sort_best_first(all_stats[0])
    inp.systems = {name: inp.systems[name] for name in order}
    baseline = inp.baseline or order[0]
    # every system's resamples at once, over the cores: the bs tests and the ranking reuse them
    prefetch(
        [st for per in all_stats for st in per.values()], n if method == "bs" else ci_samples, seed, jobs
    )
    results = []
    for unordered in all_stats:
        stats = {name: unordered[name] for name in order}  # every table and plot lists systems best first
        tests = {}
        if method:
            for name in order:
                if name != baseline:
                    tests[name] = paired_test(
                        stats[baseline], stats[name], method, n, seed, alpha, ci_samples
                    )
        ci = {}
        for name in order:
            test = tests.get(name)
            # the bs test already holds the system's CI from the very same resamples
            ci[name] = test.ci if test and test.ci else bootstrap_ci(stats[name], ci_samples, seed)
        known = {(baseline, name): t for name, t in tests.items()}
        first = stats[baseline]
        results.append(
            MetricComparison(
                first.metric_name,
                first.signature,
                first.higher_is_better,
                stats,
                ci,
                tests,
                _test_signature(first, method, n, seed),
                rank(stats, method, n, seed, alpha, known) if method and len(order) > 1 else None,
                first.precision,
            )
        )
    return Comparison(
        inp, baseline, results, method, n, seed, alpha, ci_samples, baseline_given=inp.baseline is not None
    )


def _all_stats(
    inp: CompareInput, specs: Sequence[MetricSpec], jobs: int | None, cache_dir: str | Path | None
) -> list[dict[str, SystemStats]]:
    """Per spec, every system's statistics: sacrebleu's in one pass, segment means from their scorer."""
    sacre = [spec for spec in specs if not spec.segment_mean]
    extracted = iter(system_statistics(sacre, inp.systems, inp.refs, inp.trg_lang, jobs) if sacre else [])
    out: list[dict[str, SystemStats]] = []
    for spec in specs:
        if spec.segment_mean:
            from mtharness.compare.segment_metrics import mean_metric_stats

            out.append(mean_metric_stats(inp, spec, cache_dir))
        else:
            out.append(next(extracted))
    return out


def _test_signature(stats: SystemStats, method: str | None, n_samples: int, seed: int) -> str:
    """What sacrebleu's PairedTest prints, e.g. nrefs:1|bs:1000|seed:12345|case:mixed|..."""
    if not method:
        return ""
    if isinstance(stats.metric, MeanMetric):  # a mean of segment scores: its signature + the test's
        return f"{stats.signature}|{method}:{n_samples}|seed:{seed}"
    sig = stats.metric.get_signature()
    sig.update("seed", str(seed))
    sig.update(method, n_samples)
    return str(sig.format())


def _num(x: float | None, digits: int = 4) -> float | None:
    return None if x is None else round(float(x), digits)


def comparison_payload(comp: Comparison) -> dict[str, Any]:
    """The JSON form of one comparison (one direction); numpy values cast to plain floats."""
    metrics: dict[str, Any] = {}
    for m in comp.metrics:
        per_system: dict[str, Any] = {}
        for name in comp.systems:
            row: dict[str, Any] = {"score": _num(m.stats[name].score), "ci": m.ci[name].to_json()}
            test = m.tests.get(name)
            if test is not None:
                row.update(
                    p_value=_num(test.p_value),
                    significant=test.significant,
                    delta=_num(test.delta),
                    improved=test.improved,
                )
            per_system[name] = row
        metrics[m.name] = {
            "signature": m.signature,
            "test_signature": m.test_signature or None,
            "higher_is_better": m.higher_is_better,
            "precision": m.precision,
            "systems": per_system,
        }
        if m.ranking is not None:
            ranked = m.ranking.to_json()
            metrics[m.name].update(clusters=ranked["clusters"], pairwise=ranked["pairwise"])
            for name in comp.systems:
                per_system[name].update(rank=m.ranking.rank_range(name), cluster=m.ranking.cluster_of(name))
    return {
        "trg_lang": comp.inp.trg_lang,
        "n_segments": comp.inp.n_segments,
        "references": comp.inp.ref_names,
        "baseline": comp.baseline if comp.baseline_given else None,
        "reference_system": comp.baseline,  # the analysis' reference: the baseline, else the best system
        "ranked_by": comp.metrics[0].name if comp.metrics else None,
        "systems": comp.systems,
        "metrics": metrics,
        **_views(comp),
    }


def _views(comp: Comparison) -> dict[str, Any]:
    """The optional blocks of a comparison's JSON: only those a view filled in."""
    views: dict[str, Any] = {
        "warnings": comp.warnings or None,
        "analysis": comp.analysis,
        "error_spans": comp.error_spans,
        "human": comp.human,
    }
    return {key: value for key, value in views.items() if value is not None}


def report_payload(
    comparisons: Sequence[Comparison], sources: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The whole --json document: settings once, then one block per direction."""
    first = comparisons[0]
    return json.loads(
        json.dumps(
            {
                "schema_version": SCHEMA_VERSION,
                "kind": "comparison",
                "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                "baseline": first.baseline if first.baseline_given else None,
                "paired": {
                    "method": first.method,
                    "n_samples": first.n_samples if first.method else None,
                    "seed": first.seed,
                    "alpha": first.alpha,
                },
                "ci": {"n_samples": first.ci_samples, "seed": first.seed, "level": 0.95},
                "inputs": sources or {},
                "directions": {c.inp.label: comparison_payload(c) for c in comparisons},
            },
            default=float,
        )
    )
