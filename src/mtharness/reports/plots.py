"""matplotlib figures for the HTML report, returned as base64 PNG data URIs (no files, no network).

matplotlib is imported only inside these functions, always on the Agg backend: `mtharness --help`
and plain scoring never pay for it, and no display is ever needed.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence
from typing import Any

_BASE_COLOR = "#d62728"
_COLOR = "#1f77b4"


def _figure(width: float, height: float) -> Any:
    import matplotlib

    matplotlib.use("Agg")  # headless: renders to memory only
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def _data_uri(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def scores_with_ci(metrics: Sequence[Mapping[str, Any]], baseline: str | None = None) -> str:
    """One panel per metric: a bar per system with its 95% CI as error bar; baseline in red.

    ``metrics``: [{"name", "higher_is_better", "systems": [names], "scores": [...], "half_widths": [...]}].
    """
    n = len(metrics)
    n_sys = max(len(m["systems"]) for m in metrics)
    fig = _figure(min(4.0 + 0.5 * n_sys, 9.0) * min(n, 2), 3.2 * ((n + 1) // 2))
    axes = fig.subplots((n + 1) // 2, min(n, 2), squeeze=False).ravel()
    for ax, m in zip(axes, metrics, strict=False):
        names = list(m["systems"])
        colors = [_BASE_COLOR if s == baseline and len(names) > 1 else _COLOR for s in names]
        ax.bar(range(len(names)), m["scores"], yerr=m["half_widths"], color=colors, capsize=4, alpha=0.85)
        ax.set_xticks(range(len(names)), names, rotation=35, ha="right", fontsize=8)
        ax.set_title(f"{m['name']} ({'higher' if m['higher_is_better'] else 'lower'} is better)", fontsize=10)
        lows = [s - h for s, h in zip(m["scores"], m["half_widths"], strict=True)]
        highs = [s + h for s, h in zip(m["scores"], m["half_widths"], strict=True)]
        span = max(highs) - min(lows) or 1.0
        ax.set_ylim(max(0.0, min(lows) - span), max(highs) + 0.3 * span)
        ax.grid(axis="y", alpha=0.3)
    for ax in axes[n:]:
        ax.set_visible(False)
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
    ax.set_title(f"segment {metric}: quartiles, ▲ mean", fontsize=9)
    ax.grid(axis="y", alpha=0.3)
    return _data_uri(fig)


def length_buckets(rows: Sequence[Mapping[str, Any]], metric: str) -> str:
    """Score per source-length bucket, one line per system."""
    labels = [f"{r['bucket']}\n(n={r['n']})" for r in rows]
    systems = list(rows[0]["scores"]) if rows else []
    fig = _figure(min(3.0 + 1.2 * len(rows), 9.0), 3.4)
    ax = fig.subplots()
    for name in systems:
        ax.plot(range(len(rows)), [r["scores"][name] for r in rows], marker="o", label=name)
    ax.set_xticks(range(len(rows)), labels, fontsize=8)
    ax.set_ylabel(metric)
    ax.set_title(f"{metric} by source length", fontsize=10)
    ax.grid(alpha=0.3)
    if len(systems) > 1:
        ax.legend(fontsize=7, ncols=2)
    return _data_uri(fig)
