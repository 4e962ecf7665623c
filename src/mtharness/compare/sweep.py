"""One table across the jobs of a Hydra multirun (a sweep folder), and sweep folders as run lists.

Each job is a row labelled by the overrides that differ between the jobs (``translator=echo
limit=20``), with the leaderboard's columns: every score of both directions, the copy and
off-target rates (flagged above the run's warn rate) and the system identity. Rows keep the job
order. A job without scores.json is a row too (a shard that only translated, or a job that failed),
so the table never hides a job. ``mtharness leaderboard SWEEP_DIR`` adds confidence intervals.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mtharness.compare.identity import identity_key
from mtharness.compare.leaderboard import FLAG, RATE_COLUMNS, SHORT_ID, Entry, columns
from mtharness.core import MtharnessError
from mtharness.run.folder import finished_marker
from mtharness.run.reader import SCORES_FILE, read_run
from mtharness.textio import markdown_cell
from mtharness.validity.notes import run_warn_rates

SWEEP_MARKER = "multirun.yaml"  # Hydra writes it at the top of every sweep folder
_JOB_NUM = re.compile(r"^(\d+)")


def _job_key(path: Path) -> tuple[int, str]:
    found = _JOB_NUM.match(path.name)
    return (int(found.group(1)) if found else 1 << 30, str(path))


def job_folders(sweep_dir: Path) -> list[Path]:
    """The sweep's job folders (a Hydra .hydra/ or a finished marker in them), in job order."""
    found = set()
    for path in sweep_dir.rglob("*"):
        if any(part.startswith(".") for part in path.relative_to(sweep_dir).parts[:-1]):
            continue  # .submitit/, a job's .hydra/ contents
        if (path.name == ".hydra" and path.is_dir()) or path.name in (SCORES_FILE, "shard.json"):
            found.add(path.parent)
    found.discard(sweep_dir)
    return sorted(found, key=_job_key)


def is_sweep(path: Path) -> bool:
    return path.is_dir() and not (path / SCORES_FILE).is_file() and (path / SWEEP_MARKER).is_file()


def expand_runs(paths: Sequence[str | Path]) -> list[str]:
    """Run folders as given, a sweep folder as its finished jobs; a sweep's own files (multirun.yaml,
    sweep.md, leaderboard.csv) from a shell glob like SWEEP/* are passed over."""
    out: list[str] = []
    for given in paths:
        path = Path(given)
        if is_sweep(path):
            jobs = [p for p in job_folders(path) if (p / SCORES_FILE).is_file()]
            if not jobs:
                raise MtharnessError(f"sweep folder {path}: no job has a scores.json (did the sweep finish?)")
            out += [str(p) for p in jobs]
        elif path.is_file() and path.name != SCORES_FILE and is_sweep(path.parent):
            continue
        else:
            out.append(str(given))
    return out


def job_overrides(job: Path) -> list[str]:
    """The job's command-line overrides (.hydra/overrides.yaml), [] where Hydra kept none."""
    from omegaconf import OmegaConf

    path = job / ".hydra" / "overrides.yaml"
    if not path.is_file():
        return []
    try:
        value = OmegaConf.to_container(OmegaConf.load(path))
    except Exception:  # a hand-edited file: the row falls back to its translator name
        return []
    return [str(v) for v in value] if isinstance(value, list) else []


def differing_overrides(jobs: Sequence[Path]) -> dict[Path, list[str]]:
    """job -> its overrides whose value is not the same in every job of the sweep."""
    parsed = {job: dict(o.partition("=")[::2] for o in job_overrides(job)) for job in jobs}
    keys = sorted({k for ov in parsed.values() for k in ov})
    varying = [k for k in keys if len({ov.get(k) for ov in parsed.values()}) > 1]
    return {job: [f"{k}={ov[k]}" for k in varying if k in ov] for job, ov in parsed.items()}


def _job_row(job: Path, label: str, overrides: list[str]) -> dict[str, Any]:
    row: dict[str, Any] = {"job": job.name, "label": label, "overrides": overrides, "run_dir": str(job)}
    marker = finished_marker(job)
    if marker is None or marker.name != SCORES_FILE:
        row["status"] = "shard (translated into the cache, not scored)" if marker else "no scores.json"
        return row
    try:
        run = read_run(job)
    except MtharnessError as exc:
        row["status"] = str(exc)
        return row
    warn = run_warn_rates(run.config)
    row.update(
        status="finished",
        entry=Entry(run, identity=identity_key(run), warn=warn),
        identity=identity_key(run),
        translator=run.name,
        scores={d: {m: v.score for m, v in run.scores[d].items()} for d in run.directions()},
        copy_rate=run.rates.get("copy_rate"),
        off_target_rate=run.rates.get("off_target_rate"),
        flags=[
            name
            for name, _ in RATE_COLUMNS
            if (v := run.rates.get(name)) is not None and v > getattr(warn, name)
        ],
    )
    return row


def sweep_table(sweep_dir: str | Path) -> dict[str, Any]:
    """The sweep's rows and columns (JSON-ready once ``entry`` is dropped, see to_json)."""
    root = Path(sweep_dir)
    jobs = job_folders(root)
    if not jobs:
        raise MtharnessError(f"sweep folder {root}: no job folders")
    labels = differing_overrides(jobs)
    rows = []
    for job in jobs:
        row = _job_row(job, " ".join(labels[job]) or job.name, labels[job])
        if not labels[job] and "translator" in row:  # a one-job sweep: its translator names the row
            row["label"] = row["translator"]
        rows.append(row)
    cols = columns([r["entry"] for r in rows if "entry" in r])
    return {"sweep_dir": str(root), "columns": cols, "rows": rows}


def to_json(table: dict[str, Any]) -> dict[str, Any]:
    return {
        "schema_version": 1,
        "kind": "sweep",
        "sweep_dir": table["sweep_dir"],
        "columns": [f"{d}.{m}" for d, m in table["columns"]],
        "jobs": [{k: v for k, v in row.items() if k != "entry"} for row in table["rows"]],
    }


def _cells(row: dict[str, Any], cols: list[tuple[str, str]]) -> list[str]:
    if row["status"] != "finished":
        return ["" for _ in cols] + ["", "", "", row["status"]]
    scores = [row["scores"].get(d, {}).get(m) for d, m in cols]
    rates = [
        "n/a" if row[name] is None else f"{row[name]:.3f}" + (f" {FLAG}" if name in row["flags"] else "")
        for name, _ in RATE_COLUMNS
    ]
    return ["" if s is None else f"{s:.2f}" for s in scores] + rates + [row["identity"][:SHORT_ID], ""]


def _header(cols: list[tuple[str, str]]) -> list[str]:
    heads = [f"{'fwd' if d == 'forward' else 'rt'} {m}" for d, m in cols]
    return ["job", *heads, *[title for _, title in RATE_COLUMNS], "id", "note"]


def to_markdown(table: dict[str, Any]) -> str:
    cols = table["columns"]
    head = _header(cols)
    lines = [f"# Sweep {table['sweep_dir']}", "", "| " + " | ".join(head) + " |"]
    lines.append("|---|" + "---:|" * (len(cols) + len(RATE_COLUMNS)) + "---|---|")
    for row in table["rows"]:
        cells = [markdown_cell(row["label"]), *_cells(row, cols)]
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        "fwd: forward output vs references; rt: round trip vs the original source. TER: lower is better.",
        f"{FLAG}: above the run's warn rate: its round-trip scores are inflated by copying or off-target output.",
        "Rows are the sweep's jobs, labelled by the overrides that differ; `mtharness leaderboard "
        "SWEEP_DIR` adds 95% confidence intervals.",
        "",
    ]
    return "\n".join(lines)


def to_text(table: dict[str, Any]) -> str:
    """The terminal table: aligned columns, the job's label first."""
    cols = table["columns"]
    grid = [_header(cols)] + [[row["label"], *_cells(row, cols)] for row in table["rows"]]
    widths = [max(len(r[i]) for r in grid) for i in range(len(grid[0]))]
    lines = []
    for r in grid:
        cells = [
            c.ljust(w) if i in (0, len(r) - 1, len(r) - 2) else c.rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)
