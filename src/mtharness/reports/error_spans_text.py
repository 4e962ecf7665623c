"""The MQM-style error tables of a comparison (``Comparison.error_spans``) for the terminal and markdown."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from mtharness.textio import markdown_cell

if TYPE_CHECKING:
    from mtharness.compare.systems import Comparison

ALL = "all"


def weights_note(block: Mapping[str, Any]) -> str:
    w = block.get("weights") or {}
    parts = [f"{w[s]:g}×{s}" for s in ("minor", "major", "critical") if s in w]
    note = "MQM score = −(" + " + ".join(parts) + ") per segment"
    if "non-translation" in w:
        note += f", a non-translation weighs {w['non-translation']:g}"
    return note


def _mqm(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}".replace("-0.00", "0.00")


def table_rows(block: Mapping[str, Any]) -> list[list[str]]:
    """[system, category, per-100 by severity..., total, MQM score, segments] rows, an "all" row last."""
    severities = list(block.get("severities") or [])
    out = []
    for system, s in (block.get("systems") or {}).items():
        per100 = s["per_100_segments"]
        for category, row in per100["by_category"].items():
            cells = [f"{row.get(sev, 0.0):.1f}" for sev in severities]
            out.append([system, category, *cells, f"{sum(row.values()):.1f}", "", ""])
        mqm = s.get("mqm_score")
        cells = [f"{per100['by_severity'].get(sev, 0.0):.1f}" for sev in severities]
        out.append([system, ALL, *cells, f"{per100['errors']:.1f}", _mqm(mqm), str(s["segments"])])
    return out


def table_header(block: Mapping[str, Any]) -> list[str]:
    return ["system", "category", *(block.get("severities") or []), "total", "MQM", "segments"]


def _difference_lines(block: Mapping[str, Any]) -> list[tuple[str, list[str]]]:
    out = []
    for d in block.get("differences") or []:
        a, b = d["systems"]
        lines = [
            f"line {r['line']}: {a} {r['errors'][a]} (weighted {r['weighted'][a]:g}), "
            f"{b} {r['errors'][b]} (weighted {r['weighted'][b]:g})"
            for r in d["segments"]
        ]
        out.append((f"Segments where {b} and {a} differ most in errors (weighted, then count)", lines))
    return out


def error_spans_text(label: str, spans: Mapping[str, Any]) -> str:
    """Terminal tables: per metric, errors per 100 segments by category and severity, MQM score."""
    out = []
    for metric, block in spans.items():
        out.append(
            f"Error spans, {label.replace('_', ' ')}: {metric} (per 100 segments; {weights_note(block)})"
        )
        rows = [table_header(block), *table_rows(block)]
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        for r in rows:
            cells = [
                c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))
            ]
            out.append("  ".join(cells).rstrip())
        for title, lines in _difference_lines(block):
            out.append(f"{title}:" + ("" if lines else " none"))
            out += [f"  {line}" for line in lines]
    return "\n".join(out)


def error_spans_markdown(comps: Sequence[Comparison]) -> str:
    """The same tables as markdown, one section per direction that has spans ("" when none has)."""
    out: list[str] = []
    for comp in comps:
        for metric, block in (comp.error_spans or {}).items():
            out += [
                f"### Error spans, {comp.inp.label}: {markdown_cell(metric)}",
                "",
                f"Per 100 segments; {weights_note(block)}.",
                "",
            ]
            header = table_header(block)
            out.append("| " + " | ".join(markdown_cell(h) for h in header) + " |")
            out.append("|---|---|" + "---:|" * (len(header) - 2))
            out += ["| " + " | ".join(markdown_cell(c) for c in r) + " |" for r in table_rows(block)]
            out.append("")
            for title, lines in _difference_lines(block):
                out += [f"{markdown_cell(title)}:", ""]
                out += [f"- {markdown_cell(line)}" for line in lines] or ["- none"]
                out.append("")
    return "\n".join(out)
