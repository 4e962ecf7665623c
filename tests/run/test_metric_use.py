"""Which metric scored what: reference-based metrics against the references and, on the round trip,
the original source; quality-estimation ones from the source alone, decided by the metric protocol
(MetricX by its mode), said in the terminal summary, summary.md and the HTML report."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from mtharness.cli.run import format_summary
from mtharness.core import MetricResult
from mtharness.data.loaders import load_sample
from mtharness.reports.html import run_summary
from mtharness.run.metric_use import metric_use_lines, needs_references
from mtharness.run.reader import read_run
from mtharness.run.writer import summary_markdown
from mtharness.validity.notes import run_warn_rates
from tests.helpers.spans import write_span_run

METRICX = {"metric": "metricx", "model": "m", "tokenizer": "t", "mode": "qe"}


def test_the_protocol_decides_not_the_name() -> None:
    assert needs_references("BLEU", {}) is True
    assert needs_references("CometKiwi", {}) is False
    assert needs_references("xCOMET-QE", {}) is False and needs_references("xCOMET", {}) is True
    assert needs_references("MetricX", {"metrics": {"metricx": METRICX}}) is False
    assert needs_references("MetricX", {"metrics": {"mx": {**METRICX, "mode": "ref"}}}) is True
    assert needs_references("NoSuchMetric", {}) is None


def test_every_summary_says_which_metric_scored_what(tmp_path: Path) -> None:
    ds = load_sample().subset(4)
    run = read_run(write_span_run(tmp_path / "r", ds, ds.reference_streams[0], ds.sources, "refs", {}))
    qe = MetricResult("MetricX", 1.5, "metricx|mode:qe", False, {}, 2)
    directions = tuple(
        dataclasses.replace(d, scores={**d.scores, "MetricX": qe}) for d in run.record.directions
    )
    config = {"metrics": {"chrf": {"metric": "chrf"}, "metricx": METRICX}}
    record = dataclasses.replace(run.record, directions=directions, config=config)
    lines = metric_use_lines(record)
    assert lines[0] == "chrF2: forward against the references; round trip against the original source"
    assert lines[1].startswith(
        "MetricX: forward from the source and the translation only (quality estimation"
    )
    assert "round trip from the forward output and the way back" in lines[1]
    terminal = format_summary(record)
    assert "MetricX ↓   1.50" in terminal and f"  scored     {lines[0]}" in terminal
    assert f"- {lines[1]}" in summary_markdown(record, [], run_warn_rates(config))
    assert run_summary(record)["metric_use"] == lines
