"""Self-contained HTML reports (score tables, plots, segment browser) for a comparison or one run.

The page is rendered by the jinja2 template shipped in ``mtharness/reports/templates`` with autoescape on:
every piece of segment text is HTML-escaped; plots are inline base64 PNGs, styles inline, and no
script or asset is fetched from anywhere, so the file works opened straight from disk.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from mtharness import __version__
from mtharness.compare.human.system import Correlation
from mtharness.compare.systems import Comparison, MetricComparison
from mtharness.core import format_score
from mtharness.reports import plots, tables
from mtharness.reports.html_spans import marked, span_section
from mtharness.run.metric_use import metric_use_lines
from mtharness.run.notes import how_to_read, no_references_line, usage_line, way_back_line
from mtharness.run.record import RunRecord
from mtharness.scoring.registry import info_for_score
from mtharness.textio import arrow
from mtharness.validity.align import word_diff
from mtharness.validity.notes import HOW_TO_READ

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


FOLD_CHARS = 240  # segment texts longer than this are folded to their start, click to expand


def _verdict(comp: Comparison, m: MetricComparison, name: str) -> str:
    """'reference', 'better', 'worse' or '' (not significantly different / no test): one colour each."""
    if name == comp.baseline and comp.baseline_given:
        return "reference"
    test = m.tests.get(name)
    if not comp.baseline_given or test is None or not test.significant:
        return ""
    return "better" if test.improved else "worse"


def _score_rows(comp: Comparison) -> list[dict[str, Any]]:
    rows = []
    ranking = comp.metrics[0].ranking if comp.metrics else None
    for name in comp.systems:
        cells = []
        for m in comp.metrics:
            test = m.tests.get(name)
            cells.append(
                {
                    "score": format_score(m.stats[name].score, m.precision),
                    "ci": f"±{format_score(m.ci[name].half_width, m.precision)}",
                    "p": f"{test.p_value:.4f}" if test and comp.baseline_given else "",
                    "significant": bool(test and test.significant and comp.baseline_given),
                    "verdict": _verdict(comp, m, name),
                }
            )
        rows.append(
            {
                "system": name,
                "reference": name == comp.baseline and comp.baseline_given,
                "rank": ranking.rank_range(name) if ranking else "",
                "cluster": ranking.cluster_of(name) if ranking else 0,
                "cells": cells,
            }
        )
    return rows


def _matrix(comp: Comparison) -> dict[str, Any] | None:
    ranking = comp.metrics[0].ranking if comp.metrics else None
    if ranking is None:
        return None
    rows = []
    for a in ranking.order:
        cells = []
        for b in ranking.order:
            pv = None if a == b else ranking.p_value(a, b)
            cells.append(
                {"p": "" if pv is None else f"{pv:.3f}", "significant": pv is not None and pv < comp.alpha}
            )
        rows.append({"system": a, "cells": cells})
    return {
        "metric": comp.metrics[0].name,
        "systems": ranking.order,
        "rows": rows,
        "clusters": [{"ranks": ranking.rank_range(m[0]), "systems": m} for m in ranking.clusters],
    }


def _range(score_name: str) -> tuple[float | None, float | None]:
    """The metric's declared (lo, hi) for the plot's axis; unknown metrics are unbounded."""
    info = info_for_score(score_name)
    return info.range if info is not None else (None, None)


def _plots(comp: Comparison) -> list[dict[str, str]]:
    color = {"reference": plots.REFERENCE_COLOR, "better": plots.BETTER_COLOR, "worse": plots.WORSE_COLOR}
    data = [
        {
            "name": m.name,
            "higher_is_better": m.higher_is_better,
            "systems": comp.systems,
            "scores": [m.stats[s].score for s in comp.systems],
            "half_widths": [m.ci[s].half_width for s in comp.systems],
            "colors": [color.get(_verdict(comp, m, s), plots.NEUTRAL_COLOR) for s in comp.systems],
            "range": _range(m.name),
        }
        for m in comp.metrics
    ]
    out = [
        {
            "title": "Scores with 95% bootstrap confidence intervals (axis from zero)",
            "uri": plots.scores_with_ci(data),
        }
    ]
    hist = (comp.analysis or {}).get("sentence_histograms")
    if hist:
        out.append(
            {
                "title": "Sentence-score distribution",
                "uri": plots.histograms(hist["counts"], hist["edges"], hist["metric"]),
            }
        )
    if comp.segment_scores:
        out.append(
            {
                "title": "Segment-level score distribution",
                "uri": plots.segment_distributions(comp.segment_scores, comp.segment_metric),
            }
        )
    buckets = (comp.analysis or {}).get("length_buckets", {})
    if buckets:
        name = comp.segment_metric if comp.segment_metric in buckets else next(iter(buckets))
        out.append({"title": f"{name} by source length", "uri": plots.length_buckets(buckets[name], name)})
    return out


def _folded(text: str) -> dict[str, str]:
    """A long text as its start plus the rest, so the page shows a line and a click opens it."""
    if len(text) <= FOLD_CHARS:
        return {"head": text, "rest": ""}
    cut = text.rfind(" ", 0, FOLD_CHARS)
    cut = cut if cut > FOLD_CHARS // 2 else FOLD_CHARS
    return {"head": text[:cut], "rest": text[cut:]}


def _output(comp: Comparison, system: str, i: int) -> dict[str, Any]:
    text = comp.inp.systems[system][i]
    out: dict[str, Any] = {"name": system, "text": _folded(text), "diff": None, "score": None, "pivot": None}
    out["marked"] = marked(comp, system, i, text)  # error spans (xCOMET, a judge): shown over the diff
    if comp.segment_scores:
        out["score"] = f"{comp.segment_scores[system][i]:.1f}"
    if comp.inp.label == "round_trip":  # highlight what the round trip changed in the original
        out["diff"] = word_diff(comp.inp.refs[0][i], text)
        if comp.inp.pivots and system in comp.inp.pivots:
            out["pivot"] = _folded(comp.inp.pivots[system][i])
    return out


def _segment(comp: Comparison, i: int, systems: Sequence[str]) -> dict[str, Any]:
    return {
        "line": i + 1,
        "source": _folded(comp.inp.sources[i]) if comp.inp.sources else None,
        "refs": [] if comp.inp.label == "round_trip" else [_folded(r[i]) for r in comp.inp.refs],
        "outputs": [_output(comp, s, i) for s in systems],
    }


def _worst(comp: Comparison) -> list[dict[str, Any]]:
    analysis = comp.analysis or {}
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
                "title": f"Where {system} loses most against {base} (segment {comp.segment_metric})",
                "segments": [_segment(comp, n - 1, [base, system]) for n in lines],
            }
        )
    return groups


def _section(comp: Comparison) -> dict[str, Any]:
    from mtharness.reports.tables import describe

    analysis = comp.analysis or {}
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
        "baseline_given": comp.baseline_given,
        "reference": comp.baseline,
        "rows": _score_rows(comp),
        "matrix": _matrix(comp),
        "warnings": comp.warnings,
        "plots": _plots(comp),
        "segment_metric": comp.segment_metric,
        "buckets": analysis.get("length_buckets", {}),
        "wins": analysis.get("wins_losses", {}),
        **_word_f(analysis.get("word_f_by_frequency") or {}),
        "salient": analysis.get("salient_ngrams") or {},
        "worst": _worst(comp),
        "error_spans": span_section(comp, _segment),
        "has_spans": bool(comp.inp.error_spans),
        "browser": [_segment(comp, i, comp.systems) for i in range(n)],
        "browser_truncated": comp.inp.n_segments > n,
    }


def _word_f(word_f: Mapping[str, Sequence[Mapping[str, Any]]]) -> dict[str, Any]:
    buckets: list[str] = []
    for rows in word_f.values():
        buckets += [r["bucket"] for r in rows if r["bucket"] not in buckets]
    buckets.sort(key=lambda b: int(b.split("-")[0].rstrip("+")))  # 0, 1, 2, 3-4, ... 1000+
    table = {name: {r["bucket"]: _shown_number(r["f1"], 3) for r in rows} for name, rows in word_f.items()}
    return {"word_f": table, "word_f_buckets": buckets}


def _shown_number(value: Any, digits: int = 2) -> str:
    return f"{value:.{digits}f}" if isinstance(value, (int, float)) and not isinstance(value, bool) else "n/a"


def run_summary(record: RunRecord) -> dict[str, Any]:
    """What a single-run report shows above the comparisons: every score scores.json holds (all metrics,
    both directions, with signatures), the copy / off-target / empty-source rates, document scores."""
    names: list[str] = []
    for d in record.directions:
        names += [n for n in d.scores if n not in names]
    directions = [
        {
            "label": d.direction.replace("_", " ") + ("" if d.scores else " (no references: not scored)"),
            "scores": {n: _shown_number(m.score, m.precision) for n, m in d.scores.items()},
        }
        for d in record.directions
    ]
    signatures = sorted(
        {f"{n}: {m.signature}" for d in record.directions for n, m in d.scores.items() if m.signature}
    )
    rates = [
        ("copy rate (forward output identical to its source)", _shown_number(record.copy_rate, 3)),
        (
            "off-target rate (forward output not in the target language)",
            _shown_number(record.off_target_rate, 3),
        ),
    ]
    if record.empty_sources is not None:
        rates.append(("empty source segments (left out of the copy rate)", str(record.empty_sources)))
    if missing := no_references_line(record):
        rates.append(("forward", missing))
    if record.round_trip is not None and (back := way_back_line(record.translator)):
        rates.append(("way back", back))
    if usage := usage_line(record.usage):
        rates.append(("served model: requests, retries, tokens, cost", usage))
    documents, doc_metrics = [], []
    for name, doc in ((record.document or {}).get("documents") or {}).items():
        row: dict[str, str] = {}
        for label, block in doc.items():
            if isinstance(block, dict):
                for metric, value in block.items():
                    key = f"{label.replace('_', ' ')} {metric}"
                    row[key] = _shown_number(value.get("score") if isinstance(value, dict) else value)
                    doc_metrics += [key] if key not in doc_metrics else []
        documents.append({"name": name, "n": doc.get("n_paragraphs", ""), "scores": row})
    return {
        "metric_names": names,
        "directions": directions,
        "signatures": signatures,
        "rates": rates,
        "documents": documents,
        "document_metrics": doc_metrics,
        "how_to_read": how_to_read(record),
        "metric_use": metric_use_lines(record),
    }


def _scatter(
    comps: Sequence[Comparison], correlations: Sequence[Correlation], human: Mapping[str, float]
) -> str | None:
    forward = next((c for c in comps if c.inp.label == "forward"), None)
    if forward is None or not correlations or not human:
        return None
    points = []
    for corr in correlations:
        m = forward.metric(corr.metric)
        names = [s for s in corr.systems if s in m.stats]
        matched = {s.casefold(): v for s, v in human.items()}
        names = [s for s in names if s in human or s.casefold() in matched]
        points.append(
            {
                "metric": corr.metric,
                "systems": names,
                "x": [m.stats[s].score for s in names],
                "y": [human.get(s, matched.get(s.casefold(), 0.0)) for s in names],
                "pearson": corr.pearson,
            }
        )
    return plots.human_scatter(points) if points else None


def _how_to_read(comps: Sequence[Comparison], run: Mapping[str, Any] | None) -> str | None:
    """The forward/round-trip reading note, where the page shows a round trip or a run; a comparison
    of output files alone has no round trip to explain."""
    if run is not None:
        return str(run.get("how_to_read") or HOW_TO_READ)
    return HOW_TO_READ if any(c.inp.label != "forward" for c in comps) else None


def render(
    comps: Sequence[Comparison],
    title: str,
    correlations: Sequence[Correlation] = (),
    notes: Sequence[str] = (),
    meta: dict[str, Any] | None = None,
    human: Mapping[str, float] | None = None,
    run_summary: Mapping[str, Any] | None = None,
    segment_correlations: Sequence[Any] = (),
) -> str:
    """The whole page as one HTML string. ``human`` (system -> human score) adds the scatter plot;
    ``run_summary`` (single-run reports) adds every score of scores.json, rates and document scores;
    ``segment_correlations`` (compare.human.segments.SegmentCorrelation) the segment-level table, and
    its per-domain figures when the comparison had ``--domains``."""
    template = _environment().get_template("report.html.j2")
    return str(
        template.render(
            title=title,
            notes=list(notes),
            meta=meta or {},
            how_to_read=_how_to_read(comps, run_summary),
            generated=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            version=__version__,
            sections=[_section(c) for c in comps],
            correlations=[c.to_json() for c in correlations],
            segment_correlations=[c.to_json() for c in segment_correlations],
            scatter=_scatter(comps, correlations, human or {}),
            human_direction=tables.HUMAN_DIRECTION[0].upper() + tables.HUMAN_DIRECTION[1:],
            round_trip_note=tables.ROUND_TRIP_NOT_CORRELATED
            if any(c.inp.label == "round_trip" for c in comps)
            else "",
            run=run_summary,
        )
    )
