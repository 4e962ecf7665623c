"""Finished run folders (read by mtharness.run.reader) turned into comparisons of their systems."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from mtharness.compare.error_spans import spans_from_runs
from mtharness.compare.systems import CompareInput, order_systems
from mtharness.core import MtharnessError
from mtharness.run.reader import RunFolder, read_run
from mtharness.scoring.metrics import parse_specs
from mtharness.scoring.protocol import SEGMENT_MEAN
from mtharness.scoring.registry import info_for_score


def system_names(runs: Sequence[RunFolder]) -> list[str]:
    """The runs' names in a comparison: translator names, made unique with the run folder's name where
    two runs share one."""
    names = [r.name for r in runs]
    out = []
    for run, name in zip(runs, names, strict=True):
        out.append(name if names.count(name) == 1 else f"{name}@{run.path.name}")
    if len(set(out)) != len(out):
        raise MtharnessError("two run folders have the same translator and folder name; rename one")
    return out


def inputs_from_runs(
    paths: Sequence[str | Path | RunFolder], baseline: str | None = None
) -> list[CompareInput]:
    """Forward (against the references) and, where every run has one, round-trip comparisons
    (of run folders, or of runs the caller has read already)."""
    runs = [p if isinstance(p, RunFolder) else read_run(p) for p in paths]
    first = runs[0]
    hashes = {r.content_hash for r in runs}
    if len(hashes) != 1:
        listing = ", ".join(f"{r.path} ({r.dataset.name}, n={r.n_segments})" for r in runs)
        raise MtharnessError(
            f"runs were made on different data (dataset content_hash differs): {listing}; "
            "compare runs of the same dataset, limit and references"
        )
    names = system_names(runs)
    sources = first.sources
    out = []
    refs = first.references()
    if refs:
        systems = {n: run.outputs("forward") for n, run in zip(names, runs, strict=True)}
        out.append(
            CompareInput(
                "forward",
                first.tgt_lang,
                refs,
                order_systems(systems, baseline),
                sources,
                first.reference_names,
                baseline,
                src_lang=first.src_lang,
            )
        )
    if all(run.has_round_trip for run in runs):
        systems = {n: run.outputs("round_trip") for n, run in zip(names, runs, strict=True)}
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
                src_lang=first.src_lang,  # the sources are the originals, the outputs back in their language
            )
        )
    if not out:
        raise MtharnessError("these runs have neither references nor round trips: nothing to compare")
    for inp in out:
        _attach_segment_means(inp, dict(zip(names, runs, strict=True)))
        inp.error_spans = spans_from_runs(inp.label, dict(zip(names, runs, strict=True)))
    return out


def _attach_segment_means(inp: CompareInput, runs: dict[str, RunFolder]) -> None:
    """Segment-mean scores (COMET, ...) every run stored for this direction (no model runs again)."""
    from mtharness.compare.segment_metrics import stats_from_runs

    systems = {name: runs[name] for name in inp.systems}
    first = next(iter(systems.values())).scores.get(inp.label) or {}
    for metric_name in first:
        info = info_for_score(metric_name)
        if info is None or info.aggregation != SEGMENT_MEAN:
            continue
        stats = stats_from_runs(inp.label, systems, metric_name)
        if stats is not None:
            inp.segment_means[metric_name] = stats


def register_run_metrics(paths: Sequence[str | Path]) -> None:
    """Metrics the runs were scored with from outside the package (a ``_target_`` in their recorded
    metrics config) registered here too, so `compare --metrics NAME` knows them as `run` did."""
    for path in paths:
        scores = Path(path) / "scores.json"
        if not scores.is_file():
            continue
        # a peek at the recorded config only: the run itself is read (and checked) once, later
        try:
            config = json.loads(scores.read_text(encoding="utf-8")).get("config") or {}
        except (OSError, ValueError, AttributeError):
            continue  # the reader says what is wrong with it, in one line, when the run is read
        metrics = config.get("metrics") if isinstance(config, dict) else None
        if isinstance(metrics, dict):
            parse_specs({k: v for k, v in metrics.items() if isinstance(v, dict) and v.get("_target_")})
