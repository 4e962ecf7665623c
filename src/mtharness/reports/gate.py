"""The gate's verdict as a terminal table, markdown (for a PR comment), JUnit XML and JSON."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from mtharness.core import format_score
from mtharness.gate.rules import GateResult, Outcome
from mtharness.textio import atomic_write_json, atomic_write_text, markdown_cell

MARK = {"pass": "PASS", "fail": "FAIL", "skip": "SKIP"}
EMOJI = {"pass": "✅", "fail": "❌", "skip": "⏭️"}


def _num(value: float | None, signed: bool = False, digits: int = 2) -> str:
    if value is None:
        return "-"
    return format_score(value, digits, signed)


def _rate_num(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value:+.3f}" if signed else f"{value:.3f}"


def _cells(o: Outcome) -> tuple[str, str, str, str]:
    p = "-" if o.p_value is None else f"{o.p_value:.4f}"
    if o.rule.direction is None:
        return _rate_num(o.baseline), _rate_num(o.current), _rate_num(o.drop, signed=True), p
    digits = o.precision if o.precision is not None else 2  # the metric's own (COMET 4)
    return _num(o.baseline, False, digits), _num(o.current, False, digits), _num(o.drop, True, digits), p


def _who(result: GateResult, side: str) -> str:
    snap = result.baseline if side == "baseline" else result.current
    return f"{snap.translator.get('name', '?')} ({snap.origin})"


def verdict_line(result: GateResult) -> str:
    n, bad = len(result.outcomes), len(result.failures)
    if result.passed:
        return f"gate PASSED: {n} rules, none failed"
    names = ", ".join(o.rule.name for o in result.failures)
    return f"gate FAILED: {bad} of {n} rules failed: {names}"


def terminal_table(result: GateResult) -> str:
    head = ("rule", "baseline", "current", "drop", "p", "result")
    rows = [(o.rule.name, *_cells(o), MARK[o.status]) for o in result.outcomes]
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    fmt = "  ".join(f"{{:<{w}}}" if i == 0 else f"{{:>{w}}}" for i, w in enumerate(widths))
    lines = [
        f"baseline: {_who(result, 'baseline')}",
        f"current:  {_who(result, 'current')}",
        f"dataset:  {result.current.dataset.get('name')} ({result.current.dataset.get('pair')}), "
        f"{result.current.n_segments} segments",
        "",
        fmt.format(*head),
        fmt.format(*("-" * w for w in widths)),
    ]
    lines += [fmt.format(*r) for r in rows]
    lines += [f"note: {n}" for n in result.notes]
    lines += [f"  {o.rule.name}: {o.message}" for o in result.failures]
    lines.append(verdict_line(result))
    return "\n".join(lines)


def markdown(result: GateResult) -> str:
    s = result.settings
    title = "passed" if result.passed else f"failed ({len(result.failures)} of {len(result.outcomes)} rules)"
    lines = [
        f"## {EMOJI['pass' if result.passed else 'fail']} mtharness gate {title}",
        "",
        f"- baseline: `{markdown_cell(_who(result, 'baseline'))}`",
        f"- current: `{markdown_cell(_who(result, 'current'))}`",
        f"- dataset: {result.current.dataset.get('name')} ({result.current.dataset.get('pair')}), "
        f"{result.current.n_segments} segments",
        f"- significance: paired bootstrap, {s.n_resamples} resamples, seed {s.seed}, alpha {s.alpha:g}",
        "",
        "| rule | baseline | current | drop | p | result |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for o in result.outcomes:
        name = f"**{markdown_cell(o.rule.name)}**" if o.status == "fail" else markdown_cell(o.rule.name)
        cells = " | ".join(_cells(o))
        lines.append(f"| {name} | {cells} | {EMOJI[o.status]} {MARK[o.status]} |")
    if result.failures:
        lines += ["", "### Failing rules", ""]
        lines += [f"- `{markdown_cell(o.rule.name)}`: {markdown_cell(o.message)}" for o in result.failures]
    if result.notes:
        lines += ["", "### Notes", ""] + [f"- {markdown_cell(n)}" for n in result.notes]
    return "\n".join(lines) + "\n"


def junit_xml(result: GateResult) -> str:
    """One <testcase> per rule; a failing rule's <failure> message names the rule and the numbers."""
    suite = ET.Element(
        "testsuite",
        name="mtharness gate",
        tests=str(len(result.outcomes)),
        failures=str(len(result.failures)),
        errors="0",
        skipped=str(sum(o.status == "skip" for o in result.outcomes)),
    )
    props = ET.SubElement(suite, "properties")
    for key, value in (("baseline", _who(result, "baseline")), ("current", _who(result, "current"))):
        ET.SubElement(props, "property", name=key, value=value)
    for o in result.outcomes:
        case = ET.SubElement(
            suite, "testcase", classname=f"mtharness.gate.rules.{o.rule.direction or 'run'}", name=o.rule.name
        )
        if o.status == "fail":
            failure = ET.SubElement(case, "failure", message=f"{o.rule.name}: {o.message}", type="regression")
            failure.text = f"rule {o.rule.name} failed: {o.message}"
        elif o.status == "skip":
            ET.SubElement(case, "skipped", message=o.message)
        else:
            ET.SubElement(case, "system-out").text = o.message
    root = ET.Element("testsuites", name="mtharness gate")
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def payload(result: GateResult) -> dict[str, Any]:
    def side(snap: Any) -> dict[str, Any]:
        return {"origin": snap.origin, "translator": snap.translator, "versions": snap.versions}

    return {
        "passed": result.passed,
        "exit_code": 0 if result.passed else 1,
        "verdict": verdict_line(result),
        "dataset": {k: result.current.dataset.get(k) for k in ("name", "pair", "content_hash", "n_segments")},
        "baseline": side(result.baseline),
        "current": side(result.current),
        "settings": {
            "alpha": result.settings.alpha,
            "n_resamples": result.settings.n_resamples,
            "seed": result.settings.seed,
            "test": "paired bootstrap",
        },
        "rules": [
            {
                "name": o.rule.name,
                "target": o.rule.target,
                "metric": o.rule.metric,
                "direction": o.rule.direction,
                "kind": o.rule.kind,
                "threshold": o.rule.threshold,
                "significance": o.rule.significance,
                "status": o.status,
                "baseline": o.baseline,
                "current": o.current,
                "drop": None if o.drop is None else round(o.drop, 6),
                "p_value": o.p_value,
                "message": o.message,
            }
            for o in result.outcomes
        ],
        "notes": result.notes,
    }


def write_outputs(
    result: GateResult, junit: str | None = None, md: str | None = None, json_path: str | None = None
) -> None:
    """Write whichever report files were asked for (atomically)."""
    if junit:
        atomic_write_text(junit, junit_xml(result))
    if md:
        atomic_write_text(md, markdown(result))
    if json_path:
        atomic_write_json(json_path, payload(result))


def write_error_outputs(message: str, junit: str | None = None, md: str | None = None) -> None:
    """When the gate cannot judge (exit 2), say so in the report files CI will look for."""
    if junit:
        suite = ET.Element(
            "testsuite", name="mtharness gate", tests="1", failures="0", errors="1", skipped="0"
        )
        case = ET.SubElement(suite, "testcase", classname="mtharness.gate.rules", name="gate could run")
        ET.SubElement(case, "error", message=message, type="gate-error").text = message
        root = ET.Element("testsuites", name="mtharness gate")
        root.append(suite)
        ET.indent(root)
        atomic_write_text(
            junit, '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
        )
    if md:
        atomic_write_text(md, f"## ⚠️ mtharness gate could not judge this run\n\n{markdown_cell(message)}\n")
