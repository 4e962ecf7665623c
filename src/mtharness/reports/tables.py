"""Comparison tables as terminal text, CSV, markdown and LaTeX (one row per system)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from mtharness.compare.clusters import Ranking
from mtharness.compare.human import Correlation
from mtharness.compare.systems import Comparison
from mtharness.core import arrow
from mtharness.textio import markdown_cell


def _cell(comp: Comparison, metric: str, system: str) -> tuple[str, str]:
    """(score with CI, p-value against the baseline with marker) for one table cell."""
    m = comp.metric(metric)
    ci = m.ci[system]
    d = m.precision  # the metric's display decimals: COMET 4, so 0.001 differences are not ties
    score = f"{m.stats[system].score:.{d}f} (±{ci.half_width:.{d}f})"
    test = m.tests.get(system)
    if not comp.baseline_given:
        return score, ""
    if test is None:
        return score, "baseline" if system == comp.baseline and comp.method else ""
    return score, f"{test.p_value:.4f}{test.marker}"


def _ranked(comp: Comparison) -> Ranking | None:
    return comp.metrics[0].ranking if comp.metrics else None


def ranking_lines(comp: Comparison, matrix_limit: int = 12) -> list[str]:
    """The clusters of the first metric and its N x N p-value matrix (up to ``matrix_limit`` systems)."""
    ranking = _ranked(comp)
    if ranking is None:
        return []
    name = comp.metrics[0].name
    lines = [
        f"clusters by {name} (a system joins its cluster's best system unless p < {comp.alpha}; "
        f"paired {comp.method}, n={comp.n_samples}, seed={comp.seed}):"
    ]
    for i, members in enumerate(ranking.clusters, 1):
        lines.append(f"  {i}. [rank {ranking.rank_range(members[0])}] {', '.join(members)}")
    if len(ranking.order) <= matrix_limit:
        labels = [str(i) for i in range(1, len(ranking.order) + 1)]
        width = max(len(n) for n in ranking.order) + 4
        lines.append(f"pairwise p-values ({name}; * p < {comp.alpha}):")
        lines.append(" " * width + "".join(f"{lab:>8}" for lab in labels))
        for i, a in enumerate(ranking.order):
            cells = []
            for b in ranking.order:
                if a == b:
                    cells.append(f"{'-':>8}")
                else:
                    pv = ranking.p_value(a, b)
                    cells.append(f"{pv:>7.4f}{'*' if pv < comp.alpha else ' '}")
            lines.append(f"{labels[i] + '. ' + a:<{width}}" + "".join(cells))
    return lines


def describe(comp: Comparison) -> str:
    """One line saying what was compared and how."""
    refs = "against the source" if comp.inp.label == "round_trip" else f"{len(comp.inp.refs)} reference(s)"
    test = f"paired {comp.method} (n={comp.n_samples}, seed={comp.seed})" if comp.method else "no paired test"
    return (
        f"{comp.inp.label}: {len(comp.systems)} system{'s' if len(comp.systems) != 1 else ''}, {comp.inp.n_segments} segments, "
        f"{refs}, {'baseline ' + comp.baseline if comp.baseline_given else 'sorted by ' + comp.metrics[0].name}; {test}; "
        f"95% CI from {comp.ci_samples} bootstrap resamples"
    )


def terminal_table(comp: Comparison) -> str:
    """Fixed-width table, best first: cluster rank, score (±CI half-width) per metric, and the
    p-value against --baseline when one was given; then the clusters and the pairwise matrix."""
    ranking = _ranked(comp)
    header = ["rank"] if ranking else []
    header.append("system")
    for m in comp.metrics:
        header.append(f"{m.name} {arrow(m.higher_is_better)}")
        if comp.baseline_given:
            header.append("p")
    rows = [header]
    for name in comp.systems:
        row = [ranking.rank_range(name)] if ranking else []
        row.append(name)
        for m in comp.metrics:
            score, pv = _cell(comp, m.name, name)
            row += [score, pv] if comp.baseline_given else [score]
        rows.append(row)
    name_col = 1 if ranking else 0
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = [describe(comp)]
    for n, row in enumerate(rows):
        lines.append(
            "  ".join(
                c.ljust(w) if i <= name_col else c.rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            ).rstrip()
        )
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    if comp.method and comp.baseline_given:
        lines.append(f"* p < {comp.alpha} against {comp.baseline} (two-sided)")
    lines += ranking_lines(comp)
    lines += [f"  {m.name}: {m.signature}" for m in comp.metrics]
    return "\n".join(lines)


def long_rows(comps: Sequence[Comparison]) -> list[dict[str, Any]]:
    """One row per direction, system and metric (the CSV layout)."""
    rows = []
    for comp in comps:
        for m in comp.metrics:
            for name in comp.systems:
                ci, test = m.ci[name], m.tests.get(name)
                rows.append(
                    {
                        "direction": comp.inp.label,
                        "system": name,
                        "metric": m.name,
                        "score": round(m.stats[name].score, 4),
                        "ci_low": round(ci.low, 4),
                        "ci_high": round(ci.high, 4),
                        "ci_half_width": round(ci.half_width, 4),
                        "rank": r.rank_range(name) if (r := m.ranking) else "",
                        "baseline": comp.baseline if comp.baseline_given else "",
                        "delta": round(test.delta, 4) if test else "",
                        "p_value": round(test.p_value, 4) if test else "",
                        "significant": test.significant if test else "",
                        "method": comp.method or "",
                        "n_samples": comp.n_samples if comp.method else "",
                        "seed": comp.seed,
                        "signature": m.signature,
                    }
                )
    return rows


def to_csv(comps: Sequence[Comparison]) -> str:
    rows = long_rows(comps)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def to_markdown(comps: Sequence[Comparison], correlations: Sequence[Correlation] = ()) -> str:
    out = []
    for comp in comps:
        out += [f"### {comp.inp.label}", "", describe(comp), ""]
        ranking = _ranked(comp)
        p_col = " p |" if comp.baseline_given else ""
        head = ("| rank " if ranking else "") + "| system |"
        head += "".join(f" {m.name} {arrow(m.higher_is_better)} |{p_col}" for m in comp.metrics)
        out += [
            head,
            ("|---" if ranking else "") + "|---|" + ("---:|" * (2 if p_col else 1)) * len(comp.metrics),
        ]
        for name in comp.systems:
            cells = "".join(
                f" {s} |" + (f" {pv} |" if p_col else "")
                for s, pv in (_cell(comp, m.name, name) for m in comp.metrics)
            )
            out.append(
                (f"| {ranking.rank_range(name)} " if ranking else "") + f"| {markdown_cell(name)} |{cells}"
            )
        out.append("")
        if comp.method and comp.baseline_given:
            out.append(
                f"`*` p < {comp.alpha} against {markdown_cell(comp.baseline)} (two-sided); ± is the 95% CI half-width."
            )
            out.append("")
        if ranking:
            out += ["```", *ranking_lines(comp), "```", ""]
        out += [f"- {m.name}: `{m.signature}`" for m in comp.metrics]
        out.append("")
    if correlations:
        out += [
            "### Correlation with human scores",
            "",
            "| metric | systems | Pearson | Spearman | Kendall | pairwise acc. |",
        ]
        out.append("|---|---:|---:|---:|---:|---:|")
        for c in correlations:
            vals = [c.pearson, c.spearman, c.kendall, c.pairwise_accuracy]
            out.append(
                f"| {c.metric} | {c.n_systems} | "
                + " | ".join("n/a" if v is None else f"{v:.3f}" for v in vals)
                + " |"
            )
        out.append("")
    return "\n".join(out)


_LATEX_SPECIAL = {c: f"\\{c}" for c in "&%$#_{}"} | {
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "\\": r"\textbackslash{}",
}


_LATEX_ARROW = {True: r" $\uparrow$", False: r" $\downarrow$"}


def latex_escape(text: str) -> str:
    return "".join(_LATEX_SPECIAL.get(c, c) for c in text)


def to_latex(comps: Sequence[Comparison]) -> str:
    """booktabs tables; significant systems' scores carry a dagger."""
    out = []
    for comp in comps:
        cols = "l" + "r" * len(comp.metrics)
        out += [
            f"% {latex_escape(describe(comp))}",
            r"\begin{tabular}{" + cols + "}",
            r"\toprule",
            "System & "
            + " & ".join(latex_escape(m.name) + _LATEX_ARROW[m.higher_is_better] for m in comp.metrics)
            + r" \\",
            r"\midrule",
        ]
        for name in comp.systems:
            cells = []
            for m in comp.metrics:
                test = m.tests.get(name)
                mark = r"$^\dagger$" if test and test.significant and comp.baseline_given else ""
                d = m.precision
                cells.append(f"{m.stats[name].score:.{d}f} $\\pm$ {m.ci[name].half_width:.{d}f}{mark}")
            out.append(latex_escape(name) + " & " + " & ".join(cells) + r" \\")
        out += [r"\bottomrule", r"\end{tabular}"]
        if comp.method and comp.baseline_given:
            out.append(
                f"% $^\\dagger$: p < {comp.alpha} against {latex_escape(comp.baseline)} (paired {comp.method}, n={comp.n_samples}, seed={comp.seed})"
            )
        out.append("")
    return "\n".join(out)


def correlation_table(correlations: Sequence[Correlation]) -> str:
    """Terminal table of metric/human correlations, with the systems left out on either side."""
    lines = [f"{'metric':<10} {'n':>3} {'pearson':>8} {'spearman':>9} {'kendall':>8} {'pairwise':>9}"]
    for c in correlations:
        vals = [c.pearson, c.spearman, c.kendall, c.pairwise_accuracy]
        lines.append(
            f"{c.metric:<10} {c.n_systems:>3} "
            + " ".join(f"{'n/a' if v is None else f'{v:.3f}':>8}" for v in vals)
        )
    if correlations:
        c = correlations[0]
        if c.missing_in_human:
            lines.append(f"no human score for: {', '.join(c.missing_in_human)}")
        if c.missing_in_metric:
            lines.append(f"human-scored but not compared: {', '.join(c.missing_in_metric)}")
    return "\n".join(lines)
