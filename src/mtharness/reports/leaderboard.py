"""The leaderboard written out (compare.leaderboard collects and ranks the runs): leaderboard.md (people), leaderboard.csv (spreadsheets), JSON (scripts).

Every format carries the same rows: the system label and identity hash, each score with its CI
half-width where one was computed, the copy and off-target rates with a flag above the warn rate,
and the run folder. Nothing is left out silently: the markdown says how many runs of each group
are older runs of a shown system (``--all`` lists them).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mtharness.compare.leaderboard import (
    CI_CACHE,
    CI_CACHE_VERSION,
    FLAG,
    RATE_COLUMNS,
    SHORT_ID,
    Entry,
    Group,
    annotate,
    collect,
    columns,
    higher_is_better_of,
    ordered,
    read_ci_cache,
    round_trip_leads,
    select,
)
from mtharness.core import DIRECTIONS, MtharnessError
from mtharness.run.notes import usage_line, way_back_line
from mtharness.textio import arrow, atomic_write_json, atomic_write_text, markdown_cell


def _fmt(value: float | None, digits: int = 2) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def _cell(e: Entry, direction: str, metric: str) -> str:
    value = e.score(direction, metric)
    if value is None:
        return ""
    digits = e.precision(direction, metric)  # the metric's: COMET 4, BLEU 2
    ci = e.cis.get(direction, {}).get(metric)
    return f"{value:.{digits}f} ±{ci.half_width:.{digits}f}" if ci else f"{value:.{digits}f}"


def _rate_cell(e: Entry, name: str) -> str:
    value = e.rate(name)
    if value is None:
        return "n/a" if name == "off_target_rate" else ""
    return f"{value:.3f}" + (f" {FLAG}" if e.flagged(name) else "")


def _run_path(e: Entry, root: Path) -> Path:
    return e.path.relative_to(root) if e.path.is_relative_to(root) else e.path


def _legend(ci_samples: int) -> list[str]:
    ci = (
        f"±: half-width of the 95% bootstrap confidence interval ({ci_samples} resamples, the run's seed), "
        "for BLEU and chrF; TER has none here (`mtharness report RUN` gives every metric's CI)."
        if ci_samples > 0
        else "No confidence intervals (--ci-n 0)."
    )
    return [
        "",
        "fwd: forward output vs references; rt: round trip vs the original source. "
        "↑: higher is better, ↓: lower is better (TER).",
        ci,
        f"{FLAG}: above the warn rate (the run's validity.warn.*, default 0.05, or --copy-warn / "
        "--off-target-warn): that run's round-trip scores are inflated by copying or off-target output.",
        "id: the system's identity (translator settings, data, metric signatures); rows that share a "
        "translator name show the settings they differ in, in [brackets].",
        "",
    ]


def _notes(rows: Sequence[Entry]) -> list[str]:
    """Below a table: a way back that is not the system, a served model's requests and cost."""
    out = []
    for e in rows:
        for note in (way_back_line(e.run.translator), usage_line(e.run.record.usage)):
            if note:
                out.append(f"- {markdown_cell(e.translator)}: {markdown_cell(note)}")
    return ["", *out] if out else []


def to_markdown(
    groups: dict[Group, list[Entry]],
    root: Path,
    ci_samples: int = 0,
    hidden: Mapping[Group, int] | None = None,
) -> str:
    lines = ["# mtharness leaderboard", "", f"Runs under `{root}`; best first by the first column."]
    for key, rows in groups.items():
        name, pair, chash = key
        cols = columns(rows)
        rows = ordered(rows)
        n_seg = rows[0].run.n_segments
        older = (hidden or {}).get(key, 0)
        shown = f"; {older} older run(s) of these systems not shown (`--all` lists them)" if older else ""
        lines += ["", f"## {name} ({pair}), {n_seg} segments", "", f"data `{chash}`{shown}", ""]
        head = [
            f"{'fwd' if d == 'forward' else 'rt'} {m} {arrow(higher_is_better_of(rows, d, m))}"
            for d, m in cols
        ]
        rates = [title for _, title in RATE_COLUMNS]
        lines.append("| translator | id | " + " | ".join([*head, *rates]) + " | created | run |")
        lines.append("|---|---|" + "---:|" * (len(cols) + len(rates)) + "---|---|")
        for e in rows:
            cells = [_cell(e, d, m) for d, m in cols] + [_rate_cell(e, n) for n, _ in RATE_COLUMNS]
            lines.append(
                f"| {markdown_cell(e.translator)} | `{e.identity[:SHORT_ID]}` | "
                + " | ".join(cells)
                + f" | {e.created} | `{_run_path(e, root)}` |"
            )
        leads = round_trip_leads(rows)
        if leads:
            lines.append("")
            lines += [f"**{FLAG} {markdown_cell(note)}**" for note in leads]
        lines += _notes(rows)
    lines += _legend(ci_samples)
    return "\n".join(lines)


def to_csv(groups: dict[Group, list[Entry]], root: Path) -> str:
    cols = columns([e for rows in groups.values() for e in rows])
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(
        [
            "dataset",
            "pair",
            "content_hash",
            "translator",
            "name",
            "identity",
            "settings",
            "n_segments",
            *[c for d, m in cols for c in (f"{d}_{m}", f"{d}_{m}_ci")],
            "copy_rate",
            "off_target_rate",
            "flags",
            "created",
            "run_dir",
        ]
    )
    for (name, pair, chash), rows in groups.items():
        for e in ordered(rows):
            cis = [e.cis.get(d, {}).get(m) for d, m in cols]
            writer.writerow(
                [
                    name,
                    pair,
                    chash,
                    e.translator,
                    e.run.name,
                    e.identity,
                    "; ".join(f"{k}={v}" for k, v in e.settings.items()),
                    e.run.n_segments,
                    *[
                        c
                        for (d, m), ci in zip(cols, cis, strict=True)
                        for c in (
                            _fmt(e.score(d, m), e.precision(d, m)),
                            "" if ci is None else _fmt(ci.half_width, e.precision(d, m)),
                        )
                    ],
                    e.rate("copy_rate"),
                    e.rate("off_target_rate"),
                    ";".join(n for n, _ in RATE_COLUMNS if e.flagged(n)),
                    e.created,
                    str(e.path),
                ]
            )
    return buf.getvalue()


def _run_json(e: Entry, cols: list[tuple[str, str]]) -> dict[str, Any]:
    return {
        "translator": e.translator,
        "name": e.run.name,
        "identity": e.identity,
        "settings": e.settings,
        "translator_identity": e.run.translator,
        "scores": {d: {m: e.score(d, m) for dd, m in cols if dd == d} for d in DIRECTIONS},
        "ci": {d: {m: ci.to_json() for m, ci in per.items()} for d, per in e.cis.items()},
        "copy_rate": e.rate("copy_rate"),
        "off_target_rate": e.rate("off_target_rate"),
        "warn_rates": {"copy_rate": e.warn.copy_rate, "off_target_rate": e.warn.off_target_rate},
        "flags": [n for n, _ in RATE_COLUMNS if e.flagged(n)],
        "usage": dict(e.run.record.usage) if e.run.record.usage else None,
        "created": e.created,
        "run_dir": str(e.path),
    }


def to_payload(
    groups: dict[Group, list[Entry]],
    root: Path,
    ci_samples: int = 0,
    hidden: Mapping[Group, int] | None = None,
) -> dict[str, Any]:
    """The leaderboard as JSON (`mtharness leaderboard --json`): groups, best run first."""
    out = []
    for key, rows in groups.items():
        name, pair, chash = key
        cols = columns(rows)
        out.append(
            {
                "dataset": name,
                "pair": pair,
                "content_hash": chash,
                "n_segments": rows[0].run.n_segments,
                "hidden_runs": (hidden or {}).get(key, 0),
                "runs": [_run_json(e, cols) for e in ordered(rows)],
                "warnings": round_trip_leads(rows),
            }
        )
    return {
        "schema_version": 1,
        "kind": "leaderboard",
        "results_dir": str(root),
        "ci_samples": ci_samples,
        "groups": out,
    }


def write_leaderboard(
    results_dir: str | Path,
    out_dir: str | Path | None = None,
    keep_all: bool = False,
    ci_samples: int = 1000,
    copy_warn: float | None = None,
    off_target_warn: float | None = None,
) -> dict[str, Any]:
    """Write leaderboard.md and leaderboard.csv (into ``out_dir``, default the results folder)."""
    root = Path(results_dir)
    entries, skipped = collect(root)
    if not entries and skipped:
        more = f" and {len(skipped) - 1} more" if len(skipped) > 1 else ""
        raise MtharnessError(f"results folder {root}: no readable scores.json (skipped {skipped[0]}{more})")
    if not entries:
        raise MtharnessError(f"results folder {root}: no scores.json found (run `mtharness run` first)")
    groups = select(entries, keep_all)
    out = Path(out_dir) if out_dir else root
    cache = read_ci_cache(out / CI_CACHE) if ci_samples > 0 else {}
    seen = dict(cache)
    notes = annotate(groups, ci_samples, copy_warn, off_target_warn, cache)
    if cache != seen:
        atomic_write_json(out / CI_CACHE, {"version": CI_CACHE_VERSION, "runs": cache})
    hidden = {key: sum(e.group == key for e in entries) - len(rows) for key, rows in groups.items()}
    md = atomic_write_text(out / "leaderboard.md", to_markdown(groups, root, ci_samples, hidden))
    csv_path = atomic_write_text(out / "leaderboard.csv", to_csv(groups, root))
    shown = sum(len(rows) for rows in groups.values())
    return {
        "markdown": md,
        "csv": csv_path,
        "runs": len(entries),
        "shown": shown,
        "groups": len(groups),
        "skipped": skipped,
        "notes": notes,
        "payload": to_payload(groups, root, ci_samples, hidden),
    }
