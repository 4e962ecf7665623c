"""Meta-evaluation output: terminal tables, markdown and an HTML section with metric-vs-human scatters.

One table per level (segment level: one per grouping), a row per candidate metric ordered by the
first column, each cell ``value [cluster]`` when the statistic was tested for significance and
``value (position)`` when it was only ranked.
"""

from __future__ import annotations

import html
from typing import Any

from mtharness.compare.meta_eval.run import MetaEvaluation, Table
from mtharness.reports.plots import NEUTRAL_COLOR, _data_uri, _figure

HEADERS = {
    "pearson": "Pearson",
    "spearman": "Spearman",
    "kendall": "Kendall",
    "pairwise_accuracy": "pair acc",
    "soft_pairwise_accuracy": "soft pair acc",
    "kendall_b": "tau-b",
    "kendall_c": "tau-c",
    "tau_23": "tau-23",
    "acc_eq": "acc_eq (epsilon)",
}


def _blocks(ev: MetaEvaluation) -> list[tuple[str, list[Table]]]:
    system = [t for t in ev.tables if t.level == "system"]
    out = [(f"System level: {len(ev.human['systems'])} systems", system)]
    for grouping in ev.settings.groupings:
        seg = [t for t in ev.tables if t.level == "segment" and t.grouping == grouping]
        if seg:
            out.append((f"Segment level, grouping {grouping}", seg))
    return out


def _order(tables: list[Table], names: list[str]) -> list[str]:
    first = next((t.ranking for t in tables if t.ranking), None)
    if first is None:
        return names
    return first.order + [n for n in names if n not in first.order]


def _cell(table: Table, name: str) -> str:
    row = table.rows.get(name, {})
    value = row.get("value")
    if value is None:
        return "skipped" if row.get("skipped") else "n/a"
    rank = table.ranking.ranks.get(name) if table.ranking else None
    mark = "" if rank is None else (f" [{rank}]" if table.tested else f" ({rank})")
    eps = f" e={row['epsilon']:.3g}" if row.get("epsilon") is not None else ""
    return f"{value:.3f}{mark}{eps}"


def _rows(ev: MetaEvaluation) -> list[tuple[str, list[str], list[list[str]]]]:
    names = [c.name for c in ev.candidates]
    out = []
    for title, tables in _blocks(ev):
        header = ["metric", *(HEADERS.get(t.statistic, t.statistic) for t in tables)]
        body = [[n, *(_cell(t, n) for t in tables)] for n in _order(tables, names)]
        out.append((title, header, body))
    return out


def legend(ev: MetaEvaluation) -> str:
    s = ev.settings
    return (
        f"[n]: significance cluster (PERM-BOTH, {s.permutations} resamples, seed {s.seed}, alpha {s.alpha}); "
        "(n): position only, not tested; e: tie threshold epsilon of acc_eq; "
        "lower-is-better metrics are negated, so higher always means closer to the humans"
    )


def terminal(ev: MetaEvaluation) -> str:
    h = ev.human
    lines = [f"Meta-evaluation against {h['file']} ({h['level']} level)"]
    if "missing_segment_scores" in h:
        lines.append(
            f"{h['scored_segment_scores']} scored (system, segment) entries, {h['missing_segment_scores']} "
            "without a human score (dropped per grouping)"
        )
    for title, header, body in _rows(ev):
        widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
        lines += ["", title]
        for r in [header, *body]:
            lines.append(
                "  ".join(
                    c.ljust(w) if i == 0 else c.rjust(w)
                    for i, (c, w) in enumerate(zip(r, widths, strict=True))
                )
            )
    lines += ["", legend(ev)]
    return "\n".join(lines)


def markdown(ev: MetaEvaluation) -> str:
    lines = [f"# Meta-evaluation against `{ev.human['file']}` ({ev.human['level']} level)", ""]
    for title, header, body in _rows(ev):
        lines += [f"## {title}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(r) + " |" for r in body]
        lines.append("")
    lines.append(legend(ev))
    return "\n".join(lines) + "\n"


def scatter(points: dict[str, tuple[float, float]], title: str) -> str:
    """One candidate: metric corpus score (x) against human score (y), a labelled dot per system."""
    fig = _figure(4.2, 3.4)
    ax = fig.subplots()
    xs = [p[0] for p in points.values()]
    ys = [p[1] for p in points.values()]
    ax.scatter(xs, ys, color=NEUTRAL_COLOR)
    for name, (x, y) in points.items():
        ax.annotate(name, (x, y), fontsize=7, xytext=(3, 3), textcoords="offset points")
    ax.set_xlabel("metric (corpus score)", fontsize=8)
    ax.set_ylabel("human", fontsize=8)
    ax.set_title(title, fontsize=9)
    return _data_uri(fig)


def html_section(ev: MetaEvaluation) -> str:
    """The tables and one scatter per candidate, as an HTML fragment."""
    parts = [f"<section class='meta-eval'><h2>Meta-evaluation against {html.escape(ev.human['file'])}</h2>"]
    for title, header, body in _rows(ev):
        parts.append(f"<h3>{html.escape(title)}</h3><table><tr>")
        parts += [f"<th>{html.escape(c)}</th>" for c in header]
        parts.append("</tr>")
        for r in body:
            parts.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>")
        parts.append("</table>")
    parts.append(f"<p>{html.escape(legend(ev))}</p><h3>Metric against human, per system</h3><div>")
    pearson = next((t for t in ev.tables if t.level == "system" and t.statistic == "pearson"), None)
    for c in ev.candidates:
        value = pearson.rows[c.name]["value"] if pearson else None
        label = f"{c.name} (Pearson {value:.3f})" if value is not None else c.name
        uri = scatter(ev.scatter[c.name], label)
        parts.append(f"<img alt='{html.escape(label)}' src='{uri}'>")
    parts.append("</div></section>")
    return "".join(parts)


def html_page(ev: MetaEvaluation) -> str:
    style = "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}td:first-child{text-align:left}img{margin:4px}"
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>mtharness meta-eval</title>"
        f"<style>{style}</style></head><body>{html_section(ev)}</body></html>\n"
    )


def to_json(ev: MetaEvaluation) -> dict[str, Any]:
    return {"schema_version": 1, "kind": "meta-eval", **ev.to_json()}
