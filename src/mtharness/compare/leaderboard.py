"""Leaderboard: every finished run (scores.json) under a results folder, grouped by dataset and pair.

Runs of one dataset are grouped further by the data they were scored on (``content_hash``): a run
with ``limit=10`` and a full run are different test sets and never share a table.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mtharness.core import DIRECTIONS, MtharnessError
from mtharness.run.reader import RunFolder, read_run
from mtharness.textio import atomic_write_text

METRIC_ORDER = ("BLEU", "chrF2", "chrF2++", "TER")
_MODEL_KEYS = ("model", "model_name", "model_path", "checkpoint")


@dataclass(frozen=True)
class Entry:
    """One run on the leaderboard (its scores.json, validated by the run-folder reader)."""

    run: RunFolder

    @property
    def path(self) -> Path:
        return self.run.path

    @property
    def payload(self) -> dict[str, Any]:
        return self.run.payload

    @property
    def translator(self) -> str:
        t = self.payload.get("translator") or {}
        label = str(t.get("name") or "?")
        for key in _MODEL_KEYS:  # two runs of one backend with different models are different entries
            if t.get(key):
                return f"{label} ({t[key]})"
        return label

    @property
    def group(self) -> tuple[str, str, str]:
        ds = self.payload.get("dataset") or {}
        return str(ds.get("name")), str(ds.get("pair")), str(ds.get("content_hash") or "")[:12]

    @property
    def created(self) -> str:
        return str(self.payload.get("created") or "")

    def score(self, direction: str, metric: str) -> float | None:
        value = (self.payload.get("scores") or {}).get(direction, {}).get(metric, {}).get("score")
        return None if value is None else float(value)


def collect(results_dir: str | Path) -> tuple[list[Entry], list[str]]:
    """Every readable scores.json below ``results_dir`` (runs and multirun jobs alike), plus skip notes."""
    root = Path(results_dir)
    if not root.is_dir():
        raise MtharnessError(f"results folder {root}: not a directory")
    entries, skipped = [], []
    for path in sorted(root.rglob("scores.json")):
        try:
            run = read_run(path.parent)
        except MtharnessError as exc:  # one broken file must not hide every other run
            skipped.append(str(exc))
            continue
        entries.append(Entry(run))
    return entries, skipped


def select(entries: Sequence[Entry], keep_all: bool = False) -> dict[tuple[str, str, str], list[Entry]]:
    """Group entries; keep the newest run per translator in each group unless ``keep_all``."""
    groups: dict[tuple[str, str, str], list[Entry]] = {}
    for e in sorted(entries, key=lambda e: (e.created, str(e.path)), reverse=True):
        rows = groups.setdefault(e.group, [])
        if keep_all or all(r.translator != e.translator for r in rows):
            rows.append(e)
    return dict(sorted(groups.items()))


def _columns(rows: Sequence[Entry]) -> list[tuple[str, str]]:
    present = {(d, m) for e in rows for d in DIRECTIONS for m in (e.payload.get("scores") or {}).get(d, {})}
    extra = sorted({m for _, m in present} - set(METRIC_ORDER))
    return [(d, m) for d in DIRECTIONS for m in (*METRIC_ORDER, *extra) if (d, m) in present]


def _sort_key(cols: Sequence[tuple[str, str]]) -> Any:
    def key(e: Entry) -> tuple[float, str]:
        if not cols:
            return (0.0, e.translator)
        d, m = cols[0]
        value = e.score(d, m)
        sign = -1.0 if m != "TER" else 1.0  # best first
        return (sign * value if value is not None else float("inf"), e.translator)

    return key


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def to_markdown(groups: dict[tuple[str, str, str], list[Entry]], root: Path) -> str:
    lines = ["# mtharness leaderboard", "", f"Runs under `{root}`; best first by the first column."]
    for (name, pair, chash), rows in groups.items():
        cols = _columns(rows)
        rows = sorted(rows, key=_sort_key(cols))
        n_seg = rows[0].payload.get("n_segments")
        lines += ["", f"## {name} ({pair}), {n_seg} segments", "", f"data `{chash}`", ""]
        head = [f"{'fwd' if d == 'forward' else 'rt'} {m}" for d, m in cols]
        lines.append("| translator | " + " | ".join(head) + " | copy rate | created | run |")
        lines.append("|---|" + "---:|" * len(cols) + "---:|---|---|")
        for e in rows:
            cells = [_fmt(e.score(d, m)) for d, m in cols]
            rel = e.path.relative_to(root) if e.path.is_relative_to(root) else e.path
            copy = e.payload.get("copy_rate")
            lines.append(
                f"| {e.translator} | "
                + " | ".join(cells)
                + f" | {_fmt(copy) if copy is not None else ''} | {e.created} | `{rel}` |"
            )
    lines += [
        "",
        "fwd: forward output vs references; rt: round trip vs the original source. TER: lower is better.",
        "",
    ]
    return "\n".join(lines)


def to_csv(groups: dict[tuple[str, str, str], list[Entry]], root: Path) -> str:
    cols = _columns([e for rows in groups.values() for e in rows])
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(
        [
            "dataset",
            "pair",
            "content_hash",
            "translator",
            "n_segments",
            *[f"{d}_{m}" for d, m in cols],
            "copy_rate",
            "created",
            "run_dir",
        ]
    )
    for (name, pair, chash), rows in groups.items():
        for e in sorted(rows, key=_sort_key(_columns(rows))):
            writer.writerow(
                [
                    name,
                    pair,
                    chash,
                    e.translator,
                    e.payload.get("n_segments"),
                    *[_fmt(e.score(d, m)) for d, m in cols],
                    e.payload.get("copy_rate"),
                    e.created,
                    str(e.path),
                ]
            )
    return buf.getvalue()


def to_payload(groups: dict[tuple[str, str, str], list[Entry]], root: Path) -> dict[str, Any]:
    """The leaderboard as JSON (`mtharness leaderboard --json`): groups, best run first."""
    out = []
    for (name, pair, chash), rows in groups.items():
        cols = _columns(rows)
        runs = [
            {
                "translator": e.translator,
                "scores": {d: {m: e.score(d, m) for dd, m in cols if dd == d} for d in DIRECTIONS},
                "copy_rate": e.payload.get("copy_rate"),
                "created": e.created,
                "run_dir": str(e.path),
            }
            for e in sorted(rows, key=_sort_key(cols))
        ]
        n_seg = rows[0].payload.get("n_segments")
        out.append({"dataset": name, "pair": pair, "content_hash": chash, "n_segments": n_seg, "runs": runs})
    return {"schema_version": 1, "kind": "leaderboard", "results_dir": str(root), "groups": out}


def write_leaderboard(
    results_dir: str | Path, out_dir: str | Path | None = None, keep_all: bool = False
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
    md = atomic_write_text(out / "leaderboard.md", to_markdown(groups, root))
    csv_path = atomic_write_text(out / "leaderboard.csv", to_csv(groups, root))
    return {
        "markdown": md,
        "csv": csv_path,
        "runs": len(entries),
        "groups": len(groups),
        "skipped": skipped,
        "payload": to_payload(groups, root),
    }
