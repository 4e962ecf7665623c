"""Every candidate metric of a comparison against one human file, at system and segment level.

A candidate is one metric in one direction: forward scores (the translation against the
references) and, from run folders, round-trip scores (the source against its round trip), each
compared with the human scores of the *forward* translation, since that is what the humans judged.
At system level a metric's score is its corpus score and a system's human score the mean of its
scored segments (or the file's system score); at segment level both sides are per segment.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mtharness.compare.meta_eval import stats as st
from mtharness.compare.meta_eval.clusters import Ranked, rank_metrics
from mtharness.compare.meta_eval.significance import PermResult, perm_both, perm_both_calibrated, williams
from mtharness.compare.meta_eval.ties import PairLayout
from mtharness.core import MtharnessError

MIN_SYSTEMS = 3
SPA_PERMUTATIONS = 1000  # WMT24's soft pairwise accuracy: permutations and seed of its p-values
SPA_SEED = 4
SYSTEM_STATS = ("pearson", "spearman", "kendall", "pairwise_accuracy", "soft_pairwise_accuracy")
SEGMENT_STATS = ("pearson", "kendall_b", "kendall_c", "tau_23", "acc_eq")
SEGMENT_TESTED = {("pearson", "none"), ("acc_eq", "item")}  # WMT23's segment-level tasks


@dataclass
class Candidate:
    name: str  # e.g. "chrF2" or "chrF2 (round trip)"
    direction: str  # forward or round_trip
    higher_is_better: bool
    system: dict[str, float]  # corpus score per system, as the metric reports it
    segment: dict[str, list[float]] = field(default_factory=dict)  # per segment

    def sign(self) -> float:
        # lower-is-better metrics (TER) are negated, so agreement with humans is always positive
        return 1.0 if self.higher_is_better else -1.0


@dataclass
class Human:
    file: str
    level: str  # system or segment
    system: dict[str, float]  # per system (segment files: mean of scored segments)
    segment: dict[str, list[float | None]] = field(default_factory=dict)


@dataclass
class Settings:
    seed: int
    permutations: int = 1000
    alpha: float = 0.05
    groupings: tuple[str, ...] = st.GROUPINGS

    def to_json(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "permutations": self.permutations,
            "permutation_test": "PERM-BOTH (MTME PermutationSigDiff), z-scored metric scores, early stop "
            "at 1000-resample blocks when p < 0.02 or p > 0.5",
            "alpha": self.alpha,
            "groupings": list(self.groupings),
            "soft_pairwise_accuracy": {"permutations": SPA_PERMUTATIONS, "seed": SPA_SEED},
            "tie_calibration": {"candidates": "all pair differences (MTME sample rate 1.0)"},
        }


@dataclass
class Table:
    """One statistic at one level and grouping: a row per candidate, ranked (clusters when tested)."""

    level: str
    statistic: str
    grouping: str
    rows: dict[str, dict[str, Any]]  # candidate -> value, n_groups, n_pairs (+ epsilon, skipped)
    ranking: Ranked | None
    tested: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "statistic": self.statistic,
            "grouping": self.grouping,
            "tested": self.tested,
            "metrics": self.rows,
            **({"ranking": self.ranking.to_json()} if self.ranking else {}),
        }


@dataclass
class MetaEvaluation:
    human: dict[str, Any]
    settings: Settings
    candidates: list[Candidate]
    tables: list[Table]
    williams: dict[str, list[dict[str, Any]]]
    scatter: dict[str, dict[str, tuple[float, float]]]  # candidate -> system -> (metric, human)

    def to_json(self) -> dict[str, Any]:
        return {
            "human": self.human,
            "settings": self.settings.to_json(),
            "candidates": [
                {"name": c.name, "direction": c.direction, "higher_is_better": c.higher_is_better}
                for c in self.candidates
            ],
            "tables": [t.to_json() for t in self.tables],
            "williams": self.williams,
            "system_scores": {
                c: {s: {"metric": m, "human": h} for s, (m, h) in v.items()} for c, v in self.scatter.items()
            },
        }


def _clean(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else float(value)


def _rank(
    rows: Mapping[str, Mapping[str, Any]], test: Callable[[str, str], PermResult] | None, alpha: float
) -> Ranked | None:
    values = {m: r["value"] for m, r in rows.items() if r["value"] is not None}
    return rank_metrics(values, test, alpha) if values else None


def _systems(cands: Sequence[Candidate], human: Human) -> tuple[list[str], dict[str, Any]]:
    metric_systems = set(cands[0].system)
    for c in cands[1:]:
        metric_systems &= set(c.system)
    systems = sorted(metric_systems & set(human.system))
    info = {
        "file": human.file,
        "level": human.level,
        "systems": systems,
        "not_in_human_file": sorted(metric_systems - set(human.system)),
        "human_only": sorted(set(human.system) - metric_systems),
    }
    if len(systems) < MIN_SYSTEMS:
        raise MtharnessError(
            f"human score file {human.file}: meta-evaluation needs at least {MIN_SYSTEMS} systems with both "
            f"metric and human scores; {len(systems)} found ({', '.join(systems) or 'none'})"
        )
    return systems, info


def _system_tables(
    cands: Sequence[Candidate], human: Human, systems: list[str], settings: Settings
) -> list[Table]:
    gold: list[float | None] = [human.system[s] for s in systems]
    metric = {c.name: [c.sign() * c.system[s] for s in systems] for c in cands}
    n = len(systems)
    fns: dict[str, st.StatFn] = {
        "pearson": st.pearson,
        "spearman": st.spearman,
        "kendall": lambda g, m: st.kendall(g, m, "b"),
        "pairwise_accuracy": st.pairwise_accuracy,
    }
    tables = []
    for name, fn in fns.items():
        rows = {}
        for c in cands:
            avg = st.average(fn, gold, metric[c.name], n, "none")
            rows[c.name] = {"value": _clean(avg.value), "n_systems": avg.n_pairs}

        def test(a: str, b: str, fn: st.StatFn = fn) -> PermResult:
            return perm_both(fn, gold, metric[a], metric[b], n, "none", settings.permutations, settings.seed)

        tested = settings.permutations > 0
        tables.append(
            Table("system", name, "none", rows, _rank(rows, test if tested else None, settings.alpha), tested)
        )
    spa = _soft_pairwise(cands, human, systems)
    if spa is not None:
        tables.append(
            Table("system", "soft_pairwise_accuracy", "none", spa, _rank(spa, None, settings.alpha), False)
        )
    return tables


def _soft_pairwise(
    cands: Sequence[Candidate], human: Human, systems: list[str]
) -> dict[str, dict[str, Any]] | None:
    """SPA needs segment scores on both sides; segments any system lacks a human score for drop out."""
    if human.level != "segment" or not all(c.segment for c in cands):
        return None
    n_seg = len(human.segment[systems[0]])
    keep = [i for i in range(n_seg) if all(human.segment[s][i] is not None for s in systems)]
    if not keep:
        return None
    gold = np.array([[human.segment[s][i] for i in keep] for s in systems], dtype=np.float64)
    out = {}
    for c in cands:
        m = np.array([[c.sign() * c.segment[s][i] for i in keep] for s in systems], dtype=np.float64)
        value = st.soft_pairwise_accuracy(gold, m, SPA_PERMUTATIONS, SPA_SEED)
        out[c.name] = {"value": value, "n_systems": len(systems), "n_segments": len(keep)}
    return out


def _segment_fn(statistic: str) -> st.StatFn:
    variant = {"kendall_b": "b", "kendall_c": "c", "tau_23": "23"}.get(statistic)
    if variant is None:
        return st.pearson
    return lambda g, m: st.kendall(g, m, variant)


def _segment_tables(
    cands: Sequence[Candidate], human: Human, systems: list[str], settings: Settings
) -> tuple[list[Table], list[float | None], dict[str, list[float]]]:
    n_seg = len(human.segment[systems[0]])
    for c in cands:
        for s in systems:
            if len(c.segment[s]) != n_seg:
                raise MtharnessError(
                    f"human score file {human.file}: {n_seg} segments per system, but {c.name} scored "
                    f"{len(c.segment[s])} segments of {s}"
                )
    gold: list[float | None] = [g for s in systems for g in human.segment[s]]
    metric = {c.name: [c.sign() * v for s in systems for v in c.segment[s]] for c in cands}
    n = len(systems)
    tables = []
    for grouping in settings.groupings:
        layout = PairLayout(gold, n, grouping)
        for statistic in SEGMENT_STATS:
            rows: dict[str, dict[str, Any]] = {}
            for c in cands:
                if statistic == "acc_eq":
                    cal = layout.calibrated(np.asarray(metric[c.name]), "acc23")
                    rows[c.name] = {
                        "value": cal.value,
                        "epsilon": cal.epsilon,
                        "n_groups": cal.n_groups,
                        "n_pairs": cal.n_pairs,
                        **({"skipped": cal.skipped} if cal.skipped else {}),
                    }
                else:
                    avg = st.average(_segment_fn(statistic), gold, metric[c.name], n, grouping)
                    rows[c.name] = {
                        "value": _clean(avg.value),
                        "n_groups": avg.n_groups,
                        "n_scored": avg.n_pairs,
                    }
            tested = (statistic, grouping) in SEGMENT_TESTED and settings.permutations > 0
            test = _segment_test(statistic, grouping, gold, metric, n, settings) if tested else None
            tables.append(
                Table("segment", statistic, grouping, rows, _rank(rows, test, settings.alpha), tested)
            )
    return tables, gold, metric


def _segment_test(
    statistic: str,
    grouping: str,
    gold: list[float | None],
    metric: dict[str, list[float]],
    n: int,
    settings: Settings,
) -> Callable[[str, str], PermResult]:
    def test(a: str, b: str) -> PermResult:
        if statistic == "acc_eq":
            return perm_both_calibrated(
                gold, metric[a], metric[b], n, grouping, settings.permutations, settings.seed
            )
        return perm_both(
            st.pearson, gold, metric[a], metric[b], n, grouping, settings.permutations, settings.seed
        )

    return test


def _williams(
    order: Sequence[str], gold: Sequence[float | None], metric: Mapping[str, Sequence[float]]
) -> list[dict[str, Any]]:
    """Williams test of every pair, the better Pearson first (as ordered)."""
    out = []
    for i, a in enumerate(order):
        for b in order[i + 1 :]:
            w = williams(gold, metric[a], metric[b])
            out.append(
                {
                    "better": a,
                    "worse": b,
                    "p_value": w.p_value,
                    "r_better": w.r_a,
                    "r_worse": w.r_b,
                    "r_metrics": w.r_ab,
                    "n": w.n,
                }
            )
    return out


def meta_evaluate(cands: Sequence[Candidate], human: Human, settings: Settings) -> MetaEvaluation:
    """Every statistic of every candidate; significance clusters where the tables say tested."""
    if not cands:
        raise MtharnessError("meta-eval: no metric to evaluate (give --metrics)")
    systems, info = _systems(cands, human)
    tables = _system_tables(cands, human, systems, settings)
    sys_gold: list[float | None] = [human.system[s] for s in systems]
    sys_metric = {c.name: [c.sign() * c.system[s] for s in systems] for c in cands}
    pearson_order = next(t.ranking.order for t in tables if t.statistic == "pearson" and t.ranking)
    will = {"system": _williams(pearson_order, sys_gold, sys_metric)}
    if human.level == "segment" and all(c.segment for c in cands):
        seg_tables, gold, metric = _segment_tables(cands, human, systems, settings)
        tables += seg_tables
        info["n_segments"] = len(human.segment[systems[0]])
        info["missing_segment_scores"] = sum(g is None for g in gold)
        info["scored_segment_scores"] = sum(g is not None for g in gold)
        seg_pearson = next((t for t in seg_tables if t.statistic == "pearson" and t.grouping == "none"), None)
        if seg_pearson and seg_pearson.ranking:
            will["segment"] = _williams(seg_pearson.ranking.order, gold, metric)
    scatter = {c.name: {s: (c.system[s], human.system[s]) for s in systems} for c in cands}
    return MetaEvaluation(info, settings, list(cands), tables, will, scatter)
