"""RTT vs forward: can round-trip scores stand in for references on this data?

Given runs of several systems on the same dataset (each with forward scores against references and
round-trip scores), correlate every round-trip metric with a forward metric across systems (Pearson,
Spearman, Kendall from scipy.stats). Standalone: it reads scores.json files only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from mtharness.compare.correlation import MIN_SYSTEMS, correlations
from mtharness.core import MtharnessError, format_score
from mtharness.run.reader import read_run
from mtharness.scoring.registry import precision_of
from mtharness.validity.notes import rate_notes, run_warn_rates

_KEYS = ("pearson", "pearson_p", "spearman", "spearman_p", "kendall", "kendall_p")


def find_score_files(paths: Sequence[str | Path]) -> list[Path]:
    """scores.json of each run dir given, or of every run under a sweep/results folder given."""
    found: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_file() and p.name == "scores.json":
            found.append(p)
        elif (p / "scores.json").is_file():
            found.append(p / "scores.json")
        elif p.is_dir():
            found.extend(sorted(p.rglob("scores.json")))
        else:
            raise MtharnessError(f"{p}: neither a run folder (with scores.json) nor a folder of runs")
    return list(dict.fromkeys(found))


def _oriented(metric: dict[str, Any]) -> float:
    # a lower-is-better score (TER) is negated, so that a positive correlation always means "agrees"
    score = float(metric["score"])
    return score if metric.get("higher_is_better", True) else -score


def resolve_score_name(name: str, names: Sequence[str]) -> str:
    """A user's metric name as one of the run's score names: exact, any case, or the same metric kind
    (`chrf` -> chrF2); unchanged when nothing matches, so the caller's error names what exists."""
    from mtharness.scoring.metrics import metric_kind_or_none

    if name in names:
        return name
    same_case = [n for n in names if n.lower() == name.lower()]
    kind = metric_kind_or_none(name)
    same_kind = [n for n in names if kind is not None and metric_kind_or_none(n) == kind]
    return (same_case or same_kind or [name])[0]


def rtt_correlation(paths: Sequence[str | Path], forward_metric: str = "chrF2") -> dict[str, Any]:
    """Correlation, across systems, of each round-trip metric with ``forward_metric``."""
    runs = [read_run(f) for f in find_score_files(paths)]
    runs = [r for r in runs if r.scores.get("round_trip") and r.scores.get("forward")]
    if len(runs) < MIN_SYSTEMS:
        raise MtharnessError(
            f"found {len(runs)} runs with both forward and round-trip scores in {', '.join(map(str, paths))}; "
            f"correlation needs at least {MIN_SYSTEMS} systems on the same data with references"
        )
    if len({r.content_hash for r in runs}) > 1:
        names = sorted({r.dataset["name"] for r in runs})
        raise MtharnessError(f"runs are on different data ({names}); correlate runs of one dataset only")
    forward_metric = resolve_score_name(forward_metric, sorted(runs[0].scores["forward"]))
    systems: list[dict[str, Any]] = []
    for r in runs:
        if forward_metric not in r.scores["forward"]:
            raise MtharnessError(
                f"{r.scores_path}: no forward metric {forward_metric!r}; it has {sorted(r.scores['forward'])}"
            )
        systems.append(
            {
                "system": r.name,
                "run": str(r.path),
                "forward": {k: m["score"] for k, m in r.scores["forward"].items()},
                "round_trip": {k: m["score"] for k, m in r.scores["round_trip"].items()},
                "copy_rate": r.payload.get("copy_rate"),
                "off_target_rate": r.payload.get("off_target_rate"),
                # above the run's warn rate (validity.warn.*): its round trip is inflated
                "warnings": rate_notes(r.rates, run_warn_rates(r.config), r.tgt_lang),
            }
        )
    labels = [s["system"] for s in systems]
    if len(set(labels)) < len(labels):  # e.g. several runs of one backend: tell them apart by folder
        for s in systems:
            s["system"] = Path(str(s["run"])).name
    fwd = [_oriented(r.scores["forward"][forward_metric]) for r in runs]
    shared = set.intersection(*(set(r.scores["round_trip"]) for r in runs))
    correlations = {}
    for name in sorted(shared):
        rt = [_oriented(r.scores["round_trip"][name]) for r in runs]
        correlations[name] = _correlate(rt, fwd)
    first = runs[0]
    stored_fwd = first.scores["forward"][forward_metric]
    return {
        "dataset": first.dataset["name"],
        "content_hash": first.content_hash,
        "forward_metric": forward_metric,
        "forward_higher_is_better": bool(stored_fwd.get("higher_is_better", True)),
        "precision": {
            "forward": precision_of(forward_metric, stored_fwd),
            **{n: precision_of(n, first.scores["round_trip"][n]) for n in sorted(shared)},
        },
        "n_systems": len(runs),
        "oriented": "lower-is-better metrics (TER, ...) negated: positive = round trip agrees with forward",
        "correlations": correlations,
        "systems": systems,
    }


def _correlate(x: Sequence[float], y: Sequence[float]) -> dict[str, float | None]:
    c = correlations(x, y)  # None: a score constant across systems, correlation undefined
    values: dict[str, float | None] = asdict(c) if c is not None else dict.fromkeys(_KEYS)
    return {k: None if (v := values[k]) is None else round(v, 4) for k in _KEYS}


def format_report(report: dict[str, Any]) -> str:
    """Plain-text table: systems, then one correlation row per round-trip metric."""
    fm = report["forward_metric"]
    rt_names = list(report["correlations"])
    lines = [
        f"RTT vs forward {fm} on {report['dataset']} ({report['n_systems']} systems)",
        "",
        f"{'system':<24} {'fwd ' + fm:>12} "
        + " ".join(f"{'rt ' + n:>14}" for n in rt_names)
        + "  copy  off-target",
    ]
    sign = -1.0 if report.get("forward_higher_is_better", True) else 1.0  # best first
    digits = report.get("precision") or {}
    for s in sorted(report["systems"], key=lambda s: sign * s["forward"][fm]):
        off = s.get("off_target_rate")
        fwd = format_score(s["forward"][fm], digits.get("forward", 2))
        lines.append(
            f"{s['system'][:24]:<24} {fwd:>12} "
            + " ".join(f"{format_score(s['round_trip'][n], digits.get(n, 2) + 1):>14}" for n in rt_names)
            + f"  {s['copy_rate'] or 0:.2f}  {'-' if off is None else f'{off:.2f}'}"
        )
    lines += [f"warning: {s['system']}: {w}" for s in report["systems"] for w in s.get("warnings", [])]
    lines += ["", f"{'round-trip metric':<24} {'pearson':>8} {'spearman':>9} {'kendall':>8}  (p-values)"]
    for name, c in report["correlations"].items():
        if c["pearson"] is None:
            lines.append(f"{name:<24} undefined (a score is constant across systems)")
            continue
        lines.append(
            f"{name:<24} {c['pearson']:>8.3f} {c['spearman']:>9.3f} {c['kendall']:>8.3f}  "
            f"({c['pearson_p']:.3g}, {c['spearman_p']:.3g}, {c['kendall_p']:.3g})"
        )
    lines.append(
        "Lower-is-better metrics (TER, ...) negated before correlating: positive always means the round trip agrees."
    )
    return "\n".join(lines)
