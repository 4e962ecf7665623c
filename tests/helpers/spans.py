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


INJECTED = "<script>window.__spanInjected = true</script>"


def sample_span_runs(root: Path) -> dict[str, Path]:
    """Two runs of the bundled sample's first 12 segments: sysA outputs the references (one minor span),
    sysB changes a letter in each and has a major span on every second segment, a critical one on a
    ``<script>`` it starts segment 3 with (markup that must stay text on every page)."""
    from mtharness.data.loaders import load_sample

    ds = load_sample().subset(12)
    refs = list(ds.reference_streams[0])
    worse = [r.replace("a", "e", 1) for r in refs]
    worse[2] = f"{INJECTED} {worse[2]}"
    a_spans = [[span(r.split()[0], r, "minor", confidence=0.3)] if i == 5 else [] for i, r in enumerate(refs)]
    b_spans = []
    for i, t in enumerate(worse):
        seg = []
        if i % 2 == 1:
            seg.append(span(t.split()[1], t, "major", confidence=0.7, category="accuracy/mistranslation"))
        if i == 2:
            seg.append(span(INJECTED, t, "critical", confidence=0.95))
        b_spans.append(seg)
    return {
        "A": write_span_run(root / "A", ds, refs, None, "sysA", {"forward": {"xCOMET": a_spans}}),
        "B": write_span_run(root / "B", ds, worse, None, "sysB", {"forward": {"xCOMET": b_spans}}),
    }
