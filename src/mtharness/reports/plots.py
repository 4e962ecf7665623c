"""matplotlib figures for the HTML report, returned as base64 PNG data URIs (no files, no network).

matplotlib is imported only inside these functions, always on the Agg backend: `mtharness --help`
and plain scoring never pay for it, and no display is ever needed.
"""

from __future__ import annotations

import base64
import io
import itertools
from collections.abc import Mapping, Sequence
from typing import Any

# One meaning per colour on every plot and table of the report: grey the reference system, green
# significantly better than it, red significantly worse, blue everything else.
REFERENCE_COLOR = "#4b5563"
BETTER_COLOR = "#1a7f37"
WORSE_COLOR = "#b42318"
NEUTRAL_COLOR = "#1f77b4"
# per-system lines and dots: a colour keyed by the system's name (sorted), so a system keeps its colour
# in every plot and section of a report whatever its rank there
SYSTEM_PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
                  "#7f7f7f", "#bcbd22", "#17becf")  # fmt: skip


def system_colors(names: Sequence[str]) -> dict[str, str]:
    return {n: SYSTEM_PALETTE[i % len(SYSTEM_PALETTE)] for i, n in enumerate(sorted(set(names)))}


def _top(values: Sequence[float]) -> float:
    """An upper axis limit with room above the highest point, so no marker is cut at the frame."""
    high = max(values, default=0.0)
    return high * 1.12 if high > 0 else 1.0


def _figure(width: float, height: float) -> Any:
    import matplotlib

    matplotlib.use("Agg")  # headless: renders to memory only
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def _data_uri(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def scores_with_ci(metrics: Sequence[Mapping[str, Any]]) -> str:
    """One panel per metric: a bar per system (best first) with its 95% CI as error bar.

    ``metrics``: [{"name", "higher_is_better", "systems": [names], "scores": [...], "half_widths": [...],
    "colors": [...]}]. The value axis starts at zero: BLEU, chrF and TER are counts-based scores with
    a true zero, and a truncated axis makes a one-point difference look like a landslide.
    """
    n = len(metrics)
    n_sys = max(len(m["systems"]) for m in metrics)
    fig = _figure(min(4.0 + 0.5 * n_sys, 9.0) * min(n, 2), 3.2 * ((n + 1) // 2))
    axes = fig.subplots((n + 1) // 2, min(n, 2), squeeze=False).ravel()
    for ax, m in zip(axes, metrics, strict=False):
        names = list(m["systems"])
        colors = m.get("colors") or [NEUTRAL_COLOR] * len(names)
        ax.bar(range(len(names)), m["scores"], yerr=m["half_widths"], color=colors, capsize=4, alpha=0.9)
        ax.set_xticks(range(len(names)), names, rotation=35, ha="right", fontsize=8)
        ax.set_title(f"{m['name']} ({'higher' if m['higher_is_better'] else 'lower'} is better)", fontsize=10)
        highs = [s + h for s, h in zip(m["scores"], m["half_widths"], strict=True)]
        # the metric's declared range (scoring.protocol): bars start at its floor (0 for BLEU, so a
        # 1-point gap looks small) and stop at its ceiling; an unbounded metric gets room below 0
        lo, hi = m.get("range") or (None, None)
        lows = [s - h for s, h in zip(m["scores"], m["half_widths"], strict=True)]
        top = max(max(highs) * 1.12, 0.0) or 1.0
        bottom = lo if lo is not None else min(0.0, min(lows) * 1.12)
        ax.set_ylim(bottom, min(top, hi) if hi is not None else top)
        ax.grid(axis="y", alpha=0.3)
    for ax in axes[n:]:
        ax.set_visible(False)
    return _data_uri(fig)


def human_scatter(points: Sequence[Mapping[str, Any]]) -> str:
    """Metric (x) against human score (y), one panel per metric, one labelled dot per system.

    ``points``: [{"metric", "systems": [...], "x": [...], "y": [...], "pearson": float | None}].
    """
    n = len(points)
    fig = _figure(4.2 * min(n, 3), 3.6 * ((n + 2) // 3) + 0.6)
    axes = fig.subplots((n + 2) // 3, min(n, 3), squeeze=False).ravel()
    colors = system_colors([s for pt in points for s in pt["systems"]])
    for ax, pt in zip(axes, points, strict=False):
        # one coloured dot per system and a legend: names written beside dots overlap and leave the frame
        for name, x, y in zip(pt["systems"], pt["x"], pt["y"], strict=True):
            ax.scatter([x], [y], color=colors[name], label=name, s=28, zorder=3)
        ax.margins(0.12)
        r = pt.get("pearson")
        ax.set_title(
            f"{pt['metric']} vs human" + (f" (Pearson {r:.3f})" if r is not None else ""), fontsize=10
        )
        ax.set_xlabel(pt["metric"])
        ax.set_ylabel("human score")
        ax.grid(alpha=0.3)
    for ax in axes[n:]:
        ax.set_visible(False)
    handles, labels = axes[0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 5), fontsize=7)
    return _data_uri(fig)


def histograms(counts: Mapping[str, Sequence[int]], edges: Sequence[int], metric: str) -> str:
    """Sentence-score histograms, one step line per system, same bins for all."""
    fig = _figure(7.0, 3.4)
    ax = fig.subplots()
    centres = [(a + b) / 2 for a, b in itertools.pairwise(edges)]
    colors = system_colors(list(counts))
    for name, c in counts.items():
        ax.plot(centres, list(c), marker="o", label=name, color=colors[name])
    ax.set_xlim(edges[0], edges[-1])
    ax.set_ylim(0, _top([v for c in counts.values() for v in c]))
    ax.set_xlabel(f"sentence {metric}")
    ax.set_ylabel("segments")
    ax.set_title(f"Distribution of sentence {metric}", fontsize=10)
    ax.grid(alpha=0.3)
    if len(counts) > 1:
        ax.legend(fontsize=7, ncols=2)
    return _data_uri(fig)


def segment_distributions(scores: Mapping[str, Sequence[float]], metric: str) -> str:
    """Box plot of segment-level scores, one box per system (or direction)."""
    names = list(scores)
    fig = _figure(min(3.0 + 0.7 * len(names), 10.0), 3.4)
    ax = fig.subplots()
    ax.boxplot([list(scores[n]) for n in names], showmeans=True)
    ax.set_xticks(
        range(1, len(names) + 1),
        names,
        rotation=35 if len(names) > 3 else 0,
        ha="right" if len(names) > 3 else "center",
        fontsize=8,
    )
    ax.set_ylabel(f"segment {metric}")
    ax.set_ylim(bottom=0)
    ax.set_title(f"segment {metric}: quartiles, ▲ mean", fontsize=9)
    ax.grid(axis="y", alpha=0.3)
    return _data_uri(fig)


def length_buckets(rows: Sequence[Mapping[str, Any]], metric: str) -> str:
    """Score per source-length bucket, one line per system."""
    labels = [f"{r['bucket']}\n(n={r['n']})" for r in rows]
    systems = list(rows[0]["scores"]) if rows else []
    fig = _figure(min(3.0 + 1.2 * len(rows), 9.0), 3.4)
    ax = fig.subplots()
    colors = system_colors(systems)
    for name in systems:
        ax.plot(
            range(len(rows)), [r["scores"][name] for r in rows], marker="o", label=name, color=colors[name]
        )
    ax.set_xticks(range(len(rows)), labels, fontsize=8)
    ax.set_ylabel(metric)
    ax.set_ylim(0, _top([r["scores"][n] for r in rows for n in systems]))
    ax.set_xlim(-0.4, len(rows) - 0.6)
    ax.set_title(f"{metric} by source length", fontsize=10)
    ax.grid(alpha=0.3)
    if len(systems) > 1:
        ax.legend(fontsize=7, ncols=2)
    return _data_uri(fig)
