"""Run folders with error spans, written by the real writer (run.writer.write_run) the way a run with
xCOMET or an MQM judge stores them: segments.jsonl ``spans.<direction>.<score name>``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mtharness.core import Dataset, DirectionResult, RunResult
from mtharness.run.evaluate import copy_rate, score_direction
from mtharness.run.writer import write_run
from mtharness.scoring.metrics import parse_specs

# direction -> score name -> one list of spans per segment (None: the metric left it unannotated)
SpanSpec = Mapping[str, Mapping[str, Sequence[Sequence[Mapping[str, Any]] | None]]]


def span(text: str, translation: str, severity: str, **extra: Any) -> dict[str, Any]:
    """A span at the first occurrence of ``text`` in ``translation`` (offsets as xCOMET stores them)."""
    start = translation.index(text)
    return {"text": text, "start": start, "end": start + len(text), "severity": severity, **extra}


def write_span_run(
    run_dir: Path,
    dataset: Dataset,
    forward: Sequence[str],
    round_trip: Sequence[str] | None,
    name: str,
    spans: SpanSpec,
) -> Path:
    """A run folder scored with chrF (so compare has a metric) holding the given spans."""
    specs = parse_specs(["chrf"])
    fwd = DirectionResult("forward", dataset.pair, list(forward))
    score_direction(fwd, dataset.reference_streams, specs)
    back = None
    if round_trip is not None:
        back = DirectionResult("round_trip", dataset.pair.reversed(), list(round_trip))
        score_direction(back, [dataset.sources], specs)
    config = {"metrics": {"chrf": {"metric": "chrf"}}}
    result = RunResult(dataset, {"name": name}, fwd, back, copy_rate(dataset.sources, forward), config=config)
    rows: list[dict[str, Any]] = [{} for _ in forward]
    for direction, per_metric in spans.items():
        for metric, segments in per_metric.items():
            for row, seg in zip(rows, segments, strict=True):
                if seg is not None:
                    row.setdefault(direction, {})[metric] = [{**s, "source_metric": metric} for s in seg]
    result.segment_fields["spans"] = rows
    write_run(result, run_dir)
    return run_dir
