"""Human judgments per segment, and metric/human correlation the mt-metrics-eval way.

Readers recognise the level of a human score file instead of guessing: mt-metrics-eval's
``*.seg.score`` (``system<TAB>score``, one block of N lines per system, ``None`` for an unannotated
segment) and a ``system<TAB>segment<TAB>score`` table (segment = 1-based line number) are segment
level; a file where every system appears once is system level. A file whose system names repeat a
number of times that is not the test set's length is ambiguous and refused, and so is a
segment-level file given where system scores are expected: reading it as system scores would keep
one arbitrary segment per system and print plausible but wrong correlations.

Correlations (scipy.stats; TER and other lower-is-better metrics are negated first):
- no grouping: Pearson and Kendall tau-b over every (system, segment) pair both sides scored;
- item grouping: the same per source segment, across systems, averaged over the segments where it
  is defined (at least two systems, some spread on both sides);
- system level: metric corpus scores against the mean human score of each system, with 95%
  bootstrap intervals from resampling segments (the same resamples on both sides).
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mtharness.compare.human.system import is_number_text, parse_score
from mtharness.core import MtharnessError
from mtharness.textio import read_text

LEVELS = ("auto", "system", "segment")
Scores = dict[str, list[float | None]]  # system -> one human score (or None) per segment


@dataclass(frozen=True)
class HumanScores:
    """Human judgments of one file at the level the file has."""

    path: str
    level: str  # "system" or "segment"
    system: dict[str, float] = field(default_factory=dict)
    segment: Scores = field(default_factory=dict)


def _segment_score(text: str, where: str) -> float | None:
    """A score, or None where mt-metrics-eval marks a segment unannotated."""
    return None if text.strip() == "None" else parse_score(text.strip(), where)


def _rows(path: str | Path) -> list[list[str]]:
    text = read_text(path, "human score file")
    rows = [r for r in csv.reader(text.splitlines(), delimiter="\t", quoting=csv.QUOTE_NONE) if r]
    if not rows:
        raise MtharnessError(f"human score file {path}: empty")
    return rows


def read_human_scores(path: str | Path, n_segments: int | None, level: str = "auto") -> HumanScores:
    """Read a two- or three-column human score file, recognising (or checking) its level."""
    if level not in LEVELS:
        raise MtharnessError(f"--human-level {level!r}: choose from {', '.join(LEVELS)}")
    rows = _rows(path)
    if len(rows[0]) >= 3 and rows[0][2].strip() and not _is_score(rows[0][2]):
        rows = rows[1:]  # a header such as system<TAB>segment<TAB>score
    widths = {len(r) for r in rows}
    if widths == {3}:
        if level == "system":
            raise MtharnessError(
                f"human score file {path}: system<TAB>segment<TAB>score rows are segment scores, "
                "not system scores (use --human-level segment or auto)"
            )
        return HumanScores(str(path), "segment", segment=_segment_table(path, rows, n_segments))
    if widths != {2}:
        raise MtharnessError(
            f"human score file {path}: rows have {sorted(widths)} columns; expected system<TAB>score "
            "or system<TAB>segment<TAB>score"
        )
    start = 0 if _is_score(rows[0][1]) else 1
    body = rows[start:]
    counts: dict[str, int] = {}
    for r in body:
        counts[r[0].strip()] = counts.get(r[0].strip(), 0) + 1
    repeats = set(counts.values())
    if repeats == {1}:
        if level == "segment":
            raise MtharnessError(
                f"human score file {path}: every system appears once, so these are system scores, "
                "not segment scores (use --human-level system or auto)"
            )
        values = {
            s.strip(): _segment_score(v, f"human score file {path}, line {n}")
            for n, (s, v) in enumerate(body, start + 1)
        }
        return HumanScores(str(path), "system", system={s: v for s, v in values.items() if v is not None})
    if level == "system":
        raise MtharnessError(
            f"human score file {path}: system names repeat ({max(repeats)} lines for some systems), "
            "so it is not a system-level file; this looks like segment scores (--human-level segment)"
        )
    if len(repeats) != 1 or (n_segments is not None and repeats != {n_segments}):
        expected = f"the test set's {n_segments}" if n_segments is not None else "one per segment"
        raise MtharnessError(
            f"human score file {path}: ambiguous level: systems repeat {sorted(repeats)} times, "
            f"but segment-level files have {expected} lines per system"
        )
    return HumanScores(str(path), "segment", segment=_blocks(path, body, start))


def _is_score(text: str) -> bool:
    return text.strip() == "None" or is_number_text(text)


def _blocks(path: str | Path, body: list[list[str]], start: int) -> Scores:
    out: Scores = {}
    for n, (system, value) in enumerate(body, start + 1):
        out.setdefault(system.strip(), []).append(_segment_score(value, f"human score file {path}, line {n}"))
    return out


def _segment_table(path: str | Path, rows: list[list[str]], n_segments: int | None) -> Scores:
    if n_segments is None:
        raise MtharnessError(f"human score file {path}: segment scores need the number of segments")
    out: Scores = {}
    for n, (system, seg, value) in enumerate(rows, 1):
        where = f"human score file {path}, line {n}"
        if not seg.strip().isdigit() or not 1 <= int(seg) <= n_segments:
            raise MtharnessError(f"{where}: segment {seg!r} is not a line number from 1 to {n_segments}")
        scores = out.setdefault(system.strip(), [None] * n_segments)
        scores[int(seg) - 1] = _segment_score(value, where)
    return out


def _pearson_kendall(x: Sequence[float], y: Sequence[float]) -> tuple[float | None, float | None]:
    from scipy import stats as sps

    if len(x) < 2 or len(set(x)) < 2 or len(set(y)) < 2:
        return None, None
    return float(sps.pearsonr(x, y)[0]), float(sps.kendalltau(x, y)[0])


def _rounded(d: Mapping[str, float | None]) -> dict[str, float | None]:
    return {k: None if v is None else round(v, 4) for k, v in d.items()}


def _mean(values: Sequence[float]) -> float | None:
    return float(np.mean(values)) if values else None


@dataclass(frozen=True)
class SegmentCorrelation:
    """One metric against segment-level human scores, with both groupings."""

    metric: str
    systems: list[str]
    n_pairs: int
    no_grouping: dict[str, float | None]
    item_grouping: dict[str, float | None]
    n_items: int
    per_domain: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        r = _rounded
        return {
            "metric": self.metric,
            "systems": self.systems,
            "n_pairs": self.n_pairs,
            "no_grouping": r(self.no_grouping),
            "item_grouping": {**r(self.item_grouping), "n_items": self.n_items},
            "per_domain": self.per_domain,
        }


def segment_correlation(
    metric: str,
    metric_scores: Mapping[str, Sequence[float]],
    human: Scores,
    higher_is_better: bool = True,
    segments: Sequence[int] | None = None,
) -> tuple[dict[str, float | None], dict[str, float | None], int, int]:
    """(no grouping, item grouping, pairs, items) over ``segments`` (default: all) of shared systems."""
    systems = [s for s in metric_scores if s in human]
    n = len(next(iter(metric_scores.values()))) if metric_scores else 0
    idx = range(n) if segments is None else segments
    sign = 1.0 if higher_is_better else -1.0
    xs, ys = [], []
    item_p, item_k = [], []
    for i in idx:
        pairs = [(sign * metric_scores[s][i], human[s][i]) for s in systems if human[s][i] is not None]
        xs += [p[0] for p in pairs]
        ys += [float(p[1]) for p in pairs if p[1] is not None]
        p, k = _pearson_kendall([a for a, _ in pairs], [float(b) for _, b in pairs if b is not None])
        if p is not None and k is not None:
            item_p.append(p)
            item_k.append(k)
    pearson, kendall = _pearson_kendall(xs, ys)
    return (
        {"pearson": pearson, "kendall": kendall},
        {"pearson": _mean(item_p), "kendall": _mean(item_k)},
        len(xs),
        len(item_p),
    )


def correlate_segments(
    metric: str,
    metric_scores: Mapping[str, Sequence[float]],
    human: Scores,
    higher_is_better: bool = True,
    domains: Sequence[str] | None = None,
) -> SegmentCorrelation:
    """Both groupings over all segments, and per domain when each segment's domain is given."""
    n = len(next(iter(metric_scores.values())))
    for system, scores in human.items():
        if system in metric_scores and len(scores) != n:
            raise MtharnessError(
                f"human scores for {system}: {len(scores)} segments, but the comparison has {n}"
            )
    no_grp, item_grp, pairs, items = segment_correlation(metric, metric_scores, human, higher_is_better)
    per_domain: dict[str, dict[str, Any]] = {}
    if domains is not None:
        for domain in sorted(set(domains)):
            idx = [i for i, d in enumerate(domains) if d == domain]
            d_no, d_item, d_pairs, d_items = segment_correlation(
                metric, metric_scores, human, higher_is_better, idx
            )
            per_domain[domain] = {
                "n_segments": len(idx),
                "n_pairs": d_pairs,
                "no_grouping": _rounded(d_no),
                "item_grouping": {**_rounded(d_item), "n_items": d_items},
            }
    systems = [s for s in metric_scores if s in human]
    return SegmentCorrelation(metric, systems, pairs, no_grp, item_grp, items, per_domain)


def human_system_means(human: Scores, segments: Sequence[int] | np.ndarray | None = None) -> dict[str, float]:
    """Each system's mean human score over its annotated segments (the MTME system score)."""
    out = {}
    for system, scores in human.items():
        picked = scores if segments is None else [scores[i] for i in segments]
        known = [s for s in picked if s is not None]
        if known:
            out[system] = float(np.mean(known))
    return out


def resampled_system_means(human: Scores, indices: np.ndarray) -> list[dict[str, float]]:
    """human_system_means of every bootstrap resample (rows of ``indices``), vectorised."""
    systems = list(human)
    values = np.array([[np.nan if v is None else v for v in human[s]] for s in systems], dtype=np.float64)
    known = ~np.isnan(values)
    filled = np.where(known, values, 0.0)
    sums = filled[:, indices].sum(axis=2)  # (systems, resamples)
    counts = known[:, indices].sum(axis=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = sums / counts
    return [
        {s: float(means[j, r]) for j, s in enumerate(systems) if counts[j, r] > 0}
        for r in range(indices.shape[0])
    ]


def system_correlation_ci(
    resampled_metric: Mapping[str, np.ndarray],
    humans: Sequence[Mapping[str, float]],
    higher_is_better: bool,
    level: float = 0.95,
) -> dict[str, list[float] | None]:
    """Percentile intervals of system-level Pearson and Kendall over bootstrap resamples of segments.

    ``resampled_metric[s][r]`` is system s's corpus score in resample r; ``humans[r]`` holds the
    human system scores of the same resample (the same fixed scores in every resample when only
    system-level human scores exist: the interval then reflects the metric side only)."""
    systems = list(resampled_metric)
    n_resamples = len(next(iter(resampled_metric.values())))
    sign = 1.0 if higher_is_better else -1.0
    pearsons, kendalls = [], []
    for r in range(n_resamples):
        human = humans[r]
        shared = [s for s in systems if s in human]
        p, k = _pearson_kendall(
            [sign * float(resampled_metric[s][r]) for s in shared], [human[s] for s in shared]
        )
        if p is not None and k is not None:
            pearsons.append(p)
            kendalls.append(k)
    lo, hi = (1 - level) / 2 * 100, (1 + level) / 2 * 100

    def interval(values: list[float]) -> list[float] | None:
        return (
            [round(float(np.percentile(values, lo)), 4), round(float(np.percentile(values, hi)), 4)]
            if values
            else None
        )

    return {"pearson": interval(pearsons), "kendall": interval(kendalls), "n_resamples": len(pearsons)}  # type: ignore[dict-item]
