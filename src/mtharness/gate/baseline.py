"""Baseline files and run folders, read into one shape (RunSnapshot) that the gate compares.

A baseline file is a frozen copy of what the gate needs from a finished run: scores with their
signatures, the dataset's content hash, language pair and reference names, the translator identity,
package versions, copy/off-target rates, the metric settings (to re-score) and the per-direction
outputs (for the paired significance test against a later run on the same data).
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mtharness import __version__
from mtharness.core import DIRECTIONS, MtharnessError
from mtharness.run.reader import RATES, read_run
from mtharness.scoring import registry
from mtharness.scoring.metrics import MetricSpec, parse_specs, score_name
from mtharness.textio import atomic_write_json, read_text

BASELINE_FORMAT = 1
SAVE_HINT = "re-create it with `mtharness baseline save RUN_DIR FILE`"


@dataclass
class RunSnapshot:
    """What the gate needs from one side of a comparison (a baseline file or a run folder)."""

    origin: str  # "baseline FILE" or "run DIR": used in messages
    dataset: dict[str, Any]
    translator: dict[str, Any]
    scores: dict[str, dict[str, dict[str, Any]]]  # direction -> metric name -> {score, signature, ...}
    rates: dict[str, float]
    metrics: dict[str, dict[str, Any]]  # metric name -> {"kind", "args"}: how to re-create it
    outputs: dict[str, list[str]]  # direction -> hypotheses
    versions: dict[str, str] = field(default_factory=dict)
    sources: list[str] | None = None  # the run's sources and reference streams (run folders only)
    references: list[list[str]] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # COMET-family segment scores, direction -> metric name -> scores: paired tests on them need no model
    segment_scores: dict[str, dict[str, list[float]]] = field(default_factory=dict)

    @property
    def n_segments(self) -> int:
        return int(self.dataset.get("n_segments", 0))

    def directions(self) -> list[str]:
        return [d for d in DIRECTIONS if self.scores.get(d)]


def _metric_settings(config: dict[str, Any], pair: str) -> dict[str, dict[str, Any]]:
    """Metric name -> sacrebleu settings, from the run's resolved config (defaults when absent)."""
    src, _, tgt = pair.partition("-")
    out: dict[str, dict[str, Any]] = {}
    for spec in parse_specs(config.get("metrics") if isinstance(config, dict) else None):
        target = registry.plugin_target(spec.kind)  # a metric from outside the package: how to import it
        for lang in {tgt, src}:
            out[score_name(spec, lang)] = {
                "kind": spec.kind,
                "args": dict(spec.args),
                **({"target": target} if target else {}),
            }
    return out


def _read_json(path: Path, what: str) -> Any:
    text = read_text(path, what)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise MtharnessError(f"{what} {path}, line {exc.lineno}: not valid JSON ({exc.msg})") from None


def is_number(value: Any) -> bool:
    """A real, finite number (JSON true/false, NaN and strings are not)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _rate(value: Any, name: str, where: str) -> float | None:
    """A rate read from ``where``: a number, or None where it may be undetermined; else one error."""
    if isinstance(value, dict):  # a per-direction layout: the forward output is what is judged
        value = value.get("forward", value.get("rate"))
    if value is None and name != "copy_rate":  # off_target_rate is null when no output was long enough
        return None
    if not is_number(value):
        raise MtharnessError(f"{where}: {name} is {value!r}, not a number; {SAVE_HINT}")
    return float(value)


def _rates(payload: dict[str, Any], where: str, names: tuple[str, ...] = RATES) -> dict[str, float]:
    out = {}
    for name in names:
        if name in payload:
            value = _rate(payload[name], name, where)
            if value is not None:
                out[name] = value
    return out


def metric_spec(node: Mapping[str, Any]) -> MetricSpec:
    """A stored {"kind", "args"[, "target"]} as a spec; a metric from outside the package is registered."""
    if node.get("target"):
        registry.register(str(node["target"]))
    return MetricSpec(str(node["kind"]), dict(node.get("args") or {}))


def load_run(run_dir: str | Path) -> RunSnapshot:
    """A finished run folder (read and validated by mtharness.run.reader) as a snapshot."""
    run = read_run(run_dir)
    scores = run.scores
    return RunSnapshot(
        origin=f"run {run.path}",
        dataset=dict(run.dataset),
        translator=dict(run.translator),
        scores={d: dict(m) for d, m in scores.items()},
        rates=dict(run.rates),
        metrics=_metric_settings(run.config, str(run.dataset["pair"])),
        outputs={d: run.outputs(d) for d in scores},
        versions=dict(run.versions),
        sources=run.sources,
        references=run.references(),
        extra={"git_commit": run.git_commit, "created": run.created},
        segment_scores=_mean_segment_scores(scores, run.rows),
    )


def _mean_segment_scores(
    scores: dict[str, dict[str, Any]], rows: list[dict[str, Any]]
) -> dict[str, dict[str, list[float]]]:
    """The stored segment scores of every segment-mean metric (COMET, ...) a direction has a score of."""
    from mtharness.scoring.protocol import SEGMENT_MEAN
    from mtharness.scoring.registry import info_for_score

    def is_mean(name: str) -> bool:
        info = info_for_score(name)
        return info is not None and info.aggregation == SEGMENT_MEAN

    out: dict[str, dict[str, list[float]]] = {}
    for direction, metrics in scores.items():
        for name in (n for n in metrics if is_mean(n)):
            values = [((r.get("scores") or {}).get(direction) or {}).get(name) for r in rows]
            if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
                out.setdefault(direction, {})[name] = [float(v) for v in values]  # type: ignore[arg-type]
    return out


def baseline_payload(run: RunSnapshot, run_dir: str | Path) -> dict[str, Any]:
    """The baseline file's JSON document for a loaded run."""
    return {
        "mtharness_baseline": BASELINE_FORMAT,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "from_run": str(run_dir),
        "run_created": run.extra.get("created"),
        "git_commit": run.extra.get("git_commit"),
        "dataset": run.dataset,
        "translator": run.translator,
        "versions": {k: v for k, v in run.versions.items() if k in ("mtharness", "sacrebleu", "python")},
        "scores": run.scores,
        "rates": run.rates,
        "metrics": {
            name: spec for name, spec in run.metrics.items() if any(name in run.scores[d] for d in run.scores)
        },
        "outputs": run.outputs,
        "segment_scores": run.segment_scores,
    }


def save_baseline(run_dir: str | Path, path: str | Path) -> dict[str, Any]:
    """`mtharness baseline save`: freeze a finished run into a baseline file (written atomically)."""
    payload = baseline_payload(load_run(run_dir), run_dir)
    if not payload["scores"]:
        raise MtharnessError(
            f"run folder {run_dir}: has no scores to gate on; run with metrics and references"
        )
    atomic_write_json(path, payload)
    return payload


def _need(doc: dict[str, Any], dotted: str, kind: type | tuple[type, ...], path: Path) -> Any:
    node: Any = doc
    for key in dotted.split("."):
        if not isinstance(node, dict) or key not in node:
            raise MtharnessError(f"baseline {path}: missing key {dotted!r}; {SAVE_HINT}")
        node = node[key]
    if not isinstance(node, kind):
        raise MtharnessError(f"baseline {path}: key {dotted!r} has the wrong type; {SAVE_HINT}")
    return node


def load_baseline(path: str | Path) -> RunSnapshot:
    """Read and validate a baseline file; anything malformed is one line naming the file and key."""
    p = Path(path)
    doc = _read_json(p, "baseline")
    if not isinstance(doc, dict) or "mtharness_baseline" not in doc:
        raise MtharnessError(
            f"baseline {p}: not an mtharness baseline file (no 'mtharness_baseline' key); {SAVE_HINT}"
        )
    if doc["mtharness_baseline"] != BASELINE_FORMAT:
        raise MtharnessError(
            f"baseline {p}: format {doc['mtharness_baseline']!r}, this mtharness ({__version__}) reads "
            f"format {BASELINE_FORMAT}; {SAVE_HINT}"
        )
    dataset = _need(doc, "dataset", dict, p)
    for key, kind in (("content_hash", str), ("pair", str), ("references", list), ("n_segments", int)):
        _need(doc, f"dataset.{key}", kind, p)
    scores = _need(doc, "scores", dict, p)
    outputs = _need(doc, "outputs", dict, p)
    for direction in scores:
        if direction not in DIRECTIONS:
            raise MtharnessError(f"baseline {p}: unknown direction {direction!r} under 'scores'; {SAVE_HINT}")
        for name in _need(doc, f"scores.{direction}", dict, p):
            if not is_number(_need(doc, f"scores.{direction}.{name}.score", (int, float), p)):
                raise MtharnessError(
                    f"baseline {p}: scores.{direction}.{name}.score is not a finite number; {SAVE_HINT}"
                )
            _need(doc, f"scores.{direction}.{name}.signature", str, p)
            _need(doc, f"scores.{direction}.{name}.higher_is_better", bool, p)
        hyps = _need(doc, f"outputs.{direction}", list, p)
        if len(hyps) != dataset["n_segments"] or not all(isinstance(h, str) for h in hyps):
            raise MtharnessError(
                f"baseline {p}: outputs.{direction} must hold {dataset['n_segments']} strings "
                f"(found {len(hyps)} items); {SAVE_HINT}"
            )
    return RunSnapshot(
        origin=f"baseline {p}",
        dataset=dataset,
        translator=dict(_need(doc, "translator", dict, p)),
        scores=scores,
        rates=_rates(
            _need(doc, "rates", dict, p) if "rates" in doc else {},
            f"baseline {p}: rates",
            tuple((doc.get("rates") or {}).keys()),
        ),
        metrics=dict(doc.get("metrics") or {}),
        outputs={d: list(outputs[d]) for d in scores},
        versions=dict(doc.get("versions") or {}),
        extra={
            "created": doc.get("created"),
            "from_run": doc.get("from_run"),
            "git_commit": doc.get("git_commit"),
        },
        segment_scores=_stored_segments(doc, dataset["n_segments"], p),
    )


def _stored_segments(doc: dict[str, Any], n_segments: int, p: Path) -> dict[str, dict[str, list[float]]]:
    node = doc.get("segment_scores") or {}
    ok = isinstance(node, dict) and all(
        isinstance(m, dict)
        and all(
            isinstance(v, list) and len(v) == n_segments and all(isinstance(x, int | float) for x in v)
            for v in m.values()
        )
        for m in node.values()
    )
    if not ok:
        raise MtharnessError(
            f"baseline {p}: segment_scores must map direction -> metric -> {n_segments} numbers; {SAVE_HINT}"
        )
    return {d: {k: [float(x) for x in v] for k, v in m.items()} for d, m in node.items()}
