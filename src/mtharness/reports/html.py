"""Self-contained HTML reports (score tables, plots, segment browser) for a comparison or one run.

The page is rendered by the jinja2 template shipped in ``mtharness/reports/templates`` with autoescape on:
every piece of segment text is HTML-escaped; plots are inline base64 PNGs, styles inline, and no
script or asset is fetched from anywhere, so the file works opened straight from disk.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from mtharness import __version__
from mtharness.compare.analysis import word_diff
from mtharness.compare.human import Correlation
from mtharness.compare.systems import Comparison
from mtharness.core import arrow
from mtharness.reports import plots

MAX_BROWSER_ROWS = 2000  # beyond this the page gets slow to open; the JSON has everything


def _environment() -> Any:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("mtharness.reports", "templates"),
        autoescape=True,  # segment text is untrusted: a <script> in a segment must stay text
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _score_rows(comp: Comparison) -> list[dict[str, Any]]:
    rows = []
    for name in comp.systems:
        cells = []
        for m in comp.metrics:
            test = m.tests.get(name)
            cells.append(
                {
                    "score": f"{m.stats[name].score:.2f}",
                    "ci": f"±{m.ci[name].half_width:.2f}",
                    "p": f"{test.p_value:.4f}" if test else "",
                    "significant": bool(test and test.significant),
                    "improved": bool(test and test.improved),
                }
            )
        rows.append({"system": name, "baseline": name == comp.baseline, "cells": cells})
    return rows


def _plots(comp: Comparison) -> list[dict[str, str]]:
    data = [
        {
            "name": m.name,
            "higher_is_better": m.higher_is_better,
            "systems": comp.systems,
            "scores": [m.stats[s].score for s in comp.systems],
            "half_widths": [m.ci[s].half_width for s in comp.systems],
        }
        for m in comp.metrics
    ]
    out = [
        {
            "title": "Scores with 95% bootstrap confidence intervals",
            "uri": plots.scores_with_ci(data, comp.baseline),
        }
    ]
    if comp.segment_scores:
        out.append(
            {
                "title": "Segment-level score distribution",
                "uri": plots.segment_distributions(comp.segment_scores, comp.segment_metric),
            }
        )
    buckets = comp.extras.get("analysis", {}).get("length_buckets", {})
    if buckets:
        name = comp.segment_metric if comp.segment_metric in buckets else next(iter(buckets))
        out.append({"title": f"{name} by source length", "uri": plots.length_buckets(buckets[name], name)})
    return out


def _output(comp: Comparison, system: str, i: int) -> dict[str, Any]:
    text = comp.inp.systems[system][i]
    out: dict[str, Any] = {"name": system, "text": text, "diff": None, "score": None}
    if comp.segment_scores:
        out["score"] = f"{comp.segment_scores[system][i]:.1f}"
    if comp.inp.label == "round_trip":  # highlight what the round trip changed in the original
        out["diff"] = word_diff(comp.inp.refs[0][i], text)
    return out


def _segment(comp: Comparison, i: int, systems: Sequence[str]) -> dict[str, Any]:
    return {
        "line": i + 1,
        "source": comp.inp.sources[i] if comp.inp.sources else None,
        "refs": [] if comp.inp.label == "round_trip" else [r[i] for r in comp.inp.refs],
        "outputs": [_output(comp, s, i) for s in systems],
    }


def _worst(comp: Comparison) -> list[dict[str, Any]]:
    analysis = comp.extras.get("analysis", {})
    base = comp.baseline
    groups = []
    if len(comp.systems) == 1:
        lines = analysis.get("lowest_lines", {}).get(base, [])
        groups.append(
            {
                "title": f"Lowest-scoring segments of {base}",
                "segments": [_segment(comp, n - 1, [base]) for n in lines],
            }
        )
    for system, lines in analysis.get("worst_lines", {}).items():
        groups.append(
            {
                "title": f"Where {system} loses most against {base}",
                "segments": [_segment(comp, n - 1, [base, system]) for n in lines],
            }
        )
    return groups


def _section(comp: Comparison) -> dict[str, Any]:
    from mtharness.reports.tables import describe

    analysis = comp.extras.get("analysis", {})
    n = min(comp.inp.n_segments, MAX_BROWSER_ROWS)
    return {
        "label": comp.inp.label.replace("_", " "),
        "anchor": comp.inp.label,
        "describe": describe(comp),
        "method": comp.method,
        "alpha": comp.alpha,
        "metrics": [
            {"name": m.name, "arrow": arrow(m.higher_is_better), "signature": m.signature}
            for m in comp.metrics
        ],
        "rows": _score_rows(comp),
        "plots": _plots(comp),
        "segment_metric": comp.segment_metric,
        "buckets": analysis.get("length_buckets", {}),
        "wins": analysis.get("wins_losses", {}),
        "worst": _worst(comp),
        "browser": [_segment(comp, i, comp.systems) for i in range(n)],
        "browser_truncated": comp.inp.n_segments > n,
    }


def render(
    comps: Sequence[Comparison],
    title: str,
    correlations: Sequence[Correlation] = (),
    notes: Sequence[str] = (),
    meta: dict[str, Any] | None = None,
) -> str:
    """The whole page as one HTML string."""
    template = _environment().get_template("report.html.j2")
    return str(
        template.render(
            title=title,
            notes=list(notes),
            meta=meta or {},
            generated=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            version=__version__,
            sections=[_section(c) for c in comps],
            correlations=[c.to_json() for c in correlations],
        )
    )
