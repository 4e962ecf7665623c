"""Building run folders for gate tests: real outputs written through reports.write_run."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mtharness.core import Dataset, DirectionResult, RunResult
from mtharness.data.loaders import load_wmt
from mtharness.run.evaluate import copy_rate, score_direction
from mtharness.run.writer import write_run
from mtharness.scoring.metrics import MetricSpec, parse_specs
from mtharness.textio import read_lines

# no TER: WMT en-de segments are paragraphs and TER is slow on them
FAST_METRICS = ("bleu", "chrf")


def write_outputs_run(
    run_dir: Path,
    dataset: Dataset,
    forward: Sequence[str],
    round_trip: Sequence[str] | None,
    name: str,
    metrics: Sequence[str] = FAST_METRICS,
) -> Path:
    """A run folder exactly as `mtharness run` writes it, for outputs we already have."""
    specs: list[MetricSpec] = parse_specs(list(metrics))
    fwd = DirectionResult("forward", dataset.pair, list(forward))
    if dataset.ref_names:
        score_direction(fwd, dataset.reference_streams, specs)
    back = None
    if round_trip is not None:
        back = DirectionResult("round_trip", dataset.pair.reversed(), list(round_trip))
        score_direction(back, [dataset.sources], specs)
    config = {"metrics": {s.kind: {"metric": s.kind, **s.args} for s in specs}}
    result = RunResult(dataset, {"name": name}, fwd, back, copy_rate(dataset.sources, forward), config=config)
    write_run(result, run_dir)
    return run_dir


def wmt_run(wmt23: Path, system: str, run_dir: Path, n: int = 120) -> Path:
    """A forward-only run of a real WMT23 en-de submission on the first n segments."""
    folder = wmt23 / "en-de"
    dataset = load_wmt(str(folder)).subset(n)
    outputs = read_lines(folder / "systems" / f"{system}.de")[:n]
    return write_outputs_run(run_dir, dataset, outputs, None, system)


def read_segments(run_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (run_dir / "segments.jsonl").read_text().splitlines()]


def corrupt_every(outputs: Sequence[str], every: int = 10) -> list[str]:
    """Every `every`-th output replaced by its neighbour's: a misaligned 1/every of the segments."""
    out = list(outputs)
    for i in range(0, len(out), every):
        out[i] = outputs[(i + 1) % len(outputs)]
    return out
