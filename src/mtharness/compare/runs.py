"""Reading finished run folders (scores.json + segments.jsonl) back for comparison and reports."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mtharness.compare.systems import CompareInput, order_systems
from mtharness.core import MtharnessError
from mtharness.textio import read_jsonl, read_text


@dataclass
class Run:
    """One finished run: its scores.json payload and its segment rows."""

    path: Path
    payload: dict[str, Any]
    rows: list[dict[str, Any]]

    @property
    def translator(self) -> str:
        return str(self.payload.get("translator", {}).get("name") or self.path.name)

    @property
    def src_lang(self) -> str:
        return str(self.payload["dataset"]["src_lang"])

    @property
    def tgt_lang(self) -> str:
        return str(self.payload["dataset"]["tgt_lang"])

    @property
    def has_round_trip(self) -> bool:
        return bool(self.rows) and all(r.get("round_trip") is not None for r in self.rows)

    def references(self) -> list[list[str]]:
        n_refs = len(self.payload["dataset"].get("references") or [])
        return [[r["references"][i] for r in self.rows] for i in range(n_refs)]


def load_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(read_text(path, "scores file"))
    except json.JSONDecodeError as exc:
        raise MtharnessError(f"{path}: not valid JSON ({exc.msg}, line {exc.lineno})") from None
    if not isinstance(data, dict):
        raise MtharnessError(f"{path}: expected a JSON object")
    return data


def load_run(path: str | Path) -> Run:
    """A run folder written by `mtharness run`; one without scores.json did not finish."""
    folder = Path(path)
    if not folder.is_dir():
        raise MtharnessError(f"run folder {folder}: not a directory")
    scores = folder / "scores.json"
    if not scores.exists():
        raise MtharnessError(f"run folder {folder}: no scores.json (an unfinished run, or not a run folder)")
    payload = load_json(scores)
    seg_file = folder / "segments.jsonl"
    rows = read_jsonl(seg_file, "segments file", allow_empty_file=True)
    if not rows:
        raise MtharnessError(f"{seg_file}: no segments")
    return Run(folder, payload, rows)


def _names(runs: Sequence[Run]) -> list[str]:
    """Translator names, made unique with the run folder's name where two runs share one."""
    names = [r.translator for r in runs]
    out = []
    for run, name in zip(runs, names, strict=True):
        out.append(name if names.count(name) == 1 else f"{name}@{run.path.name}")
    if len(set(out)) != len(out):
        raise MtharnessError("two run folders have the same translator and folder name; rename one")
    return out


def inputs_from_runs(paths: Sequence[str | Path], baseline: str | None = None) -> list[CompareInput]:
    """Forward (against the references) and, where every run has one, round-trip comparisons."""
    runs = [load_run(p) for p in paths]
    first = runs[0]
    hashes = {r.payload["dataset"].get("content_hash") for r in runs}
    if len(hashes) != 1:
        listing = ", ".join(f"{r.path} ({r.payload['dataset'].get('name')}, n={len(r.rows)})" for r in runs)
        raise MtharnessError(
            f"runs were made on different data (dataset content_hash differs): {listing}; "
            "compare runs of the same dataset, limit and references"
        )
    names = _names(runs)
    sources = [r["source"] for r in first.rows]
    out = []
    refs = first.references()
    if refs:
        systems = {n: [r["forward"] for r in run.rows] for n, run in zip(names, runs, strict=True)}
        out.append(
            CompareInput(
                "forward",
                first.tgt_lang,
                refs,
                order_systems(systems, baseline),
                sources,
                list(first.payload["dataset"].get("references") or []),
                baseline,
            )
        )
    if all(run.has_round_trip for run in runs):
        systems = {n: [r["round_trip"] for r in run.rows] for n, run in zip(names, runs, strict=True)}
        out.append(
            CompareInput(
                "round_trip",
                first.src_lang,
                [sources],
                order_systems(systems, baseline),
                sources,
                ["source"],
                baseline,
                pivots={n: [r["forward"] for r in run.rows] for n, run in zip(names, runs, strict=True)},
            )
        )
    if not out:
        raise MtharnessError("these runs have neither references nor round trips: nothing to compare")
    for inp in out:
        _attach_neural(inp, dict(zip(names, runs, strict=True)))
    return out


def _attach_neural(inp: CompareInput, runs: dict[str, Run]) -> None:
    """COMET/CometKiwi segment scores every run stored for this direction (no model runs again)."""
    from mtharness.compare.neural import stats_from_runs
    from mtharness.scoring.comet import COMET_KINDS

    rows = {name: runs[name].rows for name in inp.systems}
    payloads = {name: runs[name].payload for name in inp.systems}
    for metric_name, _, _ in COMET_KINDS.values():
        stats = stats_from_runs(inp.label, rows, payloads, metric_name)
        if stats is not None:
            inp.neural[metric_name] = stats
