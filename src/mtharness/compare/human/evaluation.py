"""Metric/human correlation of a comparison: system level always, segment level when the file has it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mtharness.compare.analysis import sentence_scores
from mtharness.compare.human.segments import (
    HumanScores,
    SegmentCorrelation,
    correlate_segments,
    human_system_means,
    read_human_scores,
    resampled_system_means,
    system_correlation_ci,
)
from mtharness.compare.human.system import Correlation, correlate, read_human
from mtharness.compare.systems import Comparison
from mtharness.core import MtharnessError
from mtharness.scoring.significance import bootstrap_indices, bootstrap_scores
from mtharness.textio import read_lines


@dataclass
class HumanEvaluation:
    file: str
    level: str
    system: list[Correlation]
    system_ci: dict[str, dict[str, Any]] = field(default_factory=dict)
    segment: list[SegmentCorrelation] = field(default_factory=list)
    human_system: dict[str, float] = field(default_factory=dict)  # the human score of each system

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "level": self.level,
            "correlations": [{**c.to_json(), "ci": self.system_ci.get(c.metric)} for c in self.system],
            "segment_level": [c.to_json() for c in self.segment],
        }


def is_results_table(path: str, fmt: str, column: str | None) -> bool:
    if fmt in ("wmt-results", "tsv", "mtme"):
        return fmt == "wmt-results"
    first = Path(path).read_text(encoding="utf-8-sig", errors="replace").split("\n", 1)[0].split("\t")
    return "system" in first and ("raw_mean" in first or (column is not None and column in first))


def read_domains(path: str, n_segments: int) -> list[str]:
    """One domain per segment: the first column of a docids.tsv (domain<TAB>doc id) or a plain list."""
    lines = read_lines(path, "domain file")
    if len(lines) != n_segments:
        raise MtharnessError(
            f"domain file {path}: {len(lines)} lines, but the comparison has {n_segments} segments"
        )
    return [line.split("\t")[0].strip() for line in lines]


def read_human_file_scores(
    path: str, n_segments: int, level: str = "auto", fmt: str = "auto", column: str | None = None
) -> HumanScores:
    """Any human file compare reads (a WMT results table, MTME seg/sys scores, tables), at its level."""
    if is_results_table(path, fmt, column):
        if level == "segment":
            raise MtharnessError(
                f"human score file {path}: a WMT results table holds system scores, not segment scores"
            )
        return HumanScores(path, "system", system=read_human(path, "wmt-results", column))
    return read_human_scores(path, n_segments, level)


def evaluate_human(
    comp: Comparison,
    path: str,
    level: str = "auto",
    fmt: str = "auto",
    column: str | None = None,
    domains_path: str | None = None,
    ci_samples: int = 1000,
) -> HumanEvaluation:
    """Correlate every metric of a forward comparison with the human scores in ``path``."""
    n = comp.inp.n_segments
    scores = read_human_file_scores(path, n, level, fmt, column)
    domains = read_domains(domains_path, n) if domains_path else None
    human_sys = scores.system if scores.level == "system" else human_system_means(scores.segment)
    humans: list[dict[str, float]] = []
    if ci_samples > 0:
        if scores.level == "segment":  # the same resamples of segments as the metric side's
            humans = resampled_system_means(scores.segment, bootstrap_indices(n, ci_samples, comp.seed))
        else:
            humans = [human_sys] * ci_samples
    out = HumanEvaluation(path, scores.level, [], human_system=dict(human_sys))
    for m in comp.metrics:
        metric_sys = {name: s.score for name, s in m.stats.items()}
        out.system.append(correlate(m.name, metric_sys, human_sys, m.higher_is_better))
        shared = [s for s in m.stats if s in human_sys]
        if len(shared) >= 3 and humans:
            resampled = {s: bootstrap_scores(m.stats[s], ci_samples, comp.seed) for s in shared}
            out.system_ci[m.name] = {
                **system_correlation_ci(resampled, humans, m.higher_is_better),
                "resampled": "segments, both sides" if scores.level == "segment" else "segments, metric side",
            }
        if scores.level == "segment":
            per_seg = sentence_scores(comp, m)
            out.segment.append(
                correlate_segments(m.name, per_seg, scores.segment, m.higher_is_better, domains)
            )
    return out


def evaluate_forward(
    comps: Sequence[Comparison],
    option: str,
    path: str,
    level: str = "auto",
    fmt: str = "auto",
    column: str | None = None,
    domains_path: str | None = None,
    ci_samples: int = 1000,
) -> HumanEvaluation:
    """evaluate_human on the forward comparison among ``comps``, kept on it (``human``, its JSON block);
    ``option`` names the setting that asked, in the one line when there is no forward comparison."""
    forward = next((c for c in comps if c.inp.label == "forward"), None)
    if forward is None:
        raise MtharnessError(
            f"{option} needs a forward comparison (human scores judge translations, not round trips)"
        )
    evaluation = evaluate_human(forward, path, level, fmt, column, domains_path, ci_samples)
    forward.human = evaluation.to_json()
    return evaluation


def segment_table(evaluation: HumanEvaluation) -> str:
    """Terminal table of the segment-level correlations (both groupings)."""
    lines = [
        f"{'metric':<10} {'pairs':>6} {'pearson':>8} {'kendall':>8} | {'items':>5} {'pearson':>8} {'kendall':>8}"
    ]
    lines.append(f"{'':<10} {'(no grouping)':>24} | {'(item grouping)':>23}")
    for c in evaluation.segment:

        def f(v: float | None) -> str:
            return "n/a" if v is None else f"{v:.3f}"

        lines.append(
            f"{c.metric:<10} {c.n_pairs:>6} {f(c.no_grouping['pearson']):>8} {f(c.no_grouping['kendall']):>8} | "
            f"{c.n_items:>5} {f(c.item_grouping['pearson']):>8} {f(c.item_grouping['kendall']):>8}"
        )
    return "\n".join(lines)
