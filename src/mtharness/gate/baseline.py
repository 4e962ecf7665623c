"""Baseline files and run folders, read into one shape (RunSnapshot) that the gate compares.

A baseline file is a frozen copy of what the gate needs from a finished run: scores with their
signatures, the dataset's content hash, language pair and reference names, the translator identity,
package versions, copy/off-target rates, the metric settings (to re-score) and the per-direction
outputs (for the paired significance test against a later run on the same data).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mtharness import __version__
from mtharness.core import DIRECTIONS, MetricResult, MtharnessError
from mtharness.run.reader import RunFolder, read_run
from mtharness.run.record import DatasetInfo, is_number, metric_json, parse_rate, scores_from_json
from mtharness.scoring import registry
from mtharness.scoring.metrics import MetricSpec, parse_specs, score_name
from mtharness.textio import atomic_write_json, read_text

BASELINE_FORMAT = 1
SAVE_HINT = "re-create it with `mtharness baseline save RUN_DIR FILE`"


@dataclass(frozen=True)
class RunSnapshot:
    """What the gate needs from one side of a comparison (a baseline file or a run folder's record)."""

    origin: str  # "baseline FILE" or "run DIR": used in messages
    dataset: DatasetInfo
    n_segments: int
    translator: Mapping[str, Any]
    scores: Mapping[str, Mapping[str, MetricResult]]  # direction -> metric name -> score
    copy_rate: float | None
    off_target_rate: float | None
    metrics: Mapping[str, Mapping[str, Any]]  # metric name -> {"kind", "args"}: how to re-create it
    outputs: Mapping[str, list[str]]  # direction -> hypotheses
    versions: Mapping[str, str] = field(default_factory=dict)
    sources: list[str] | None = None  # the run's sources and reference streams (run folders only)
    references: list[list[str]] | None = None
    created: str | None = None
    git_commit: str | None = None
    from_run: str | None = None  # the run folder a baseline file was saved from
    # COMET-family segment scores, direction -> metric name -> scores: paired tests on them need no model
    segment_scores: Mapping[str, Mapping[str, list[float]]] = field(default_factory=dict)

    @property
    def rates(self) -> dict[str, float]:
        """The measured rates by name (copy_rate, off_target_rate); an unmeasured one is absent."""
        found = {"copy_rate": self.copy_rate, "off_target_rate": self.off_target_rate}
        return {k: v for k, v in found.items() if v is not None}

    def directions(self) -> list[str]:
        return [d for d in DIRECTIONS if self.scores.get(d)]

    def dataset_json(self) -> dict[str, Any]:
        return {**self.dataset.to_json(), "n_segments": self.n_segments}


def _metric_settings(config: Mapping[str, Any], pair: str) -> dict[str, dict[str, Any]]:
    """Metric name -> sacrebleu settings, from the run's resolved config (defaults when absent)."""
    src, _, tgt = pair.partition("-")
    out: dict[str, dict[str, Any]] = {}
    for spec in parse_specs(config.get("metrics") if isinstance(config, Mapping) else None):
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


def metric_spec(node: Mapping[str, Any]) -> MetricSpec:
    """A stored {"kind", "args"[, "target"]} as a spec; a metric from outside the package is registered."""
    if node.get("target"):
        registry.register(str(node["target"]))
    return MetricSpec(str(node["kind"]), dict(node.get("args") or {}))


def snapshot_of(run: RunFolder) -> RunSnapshot:
    """A finished run folder (read once by mtharness.run.reader) as the gate's snapshot."""
    rec = run.record
    return RunSnapshot(
        origin=f"run {run.path}",
        dataset=rec.dataset,
        n_segments=rec.n_segments,
        translator=rec.translator,
        scores={d: dict(m) for d, m in rec.scores.items()},
        copy_rate=rec.copy_rate,
        off_target_rate=rec.off_target_rate,
        metrics=_metric_settings(rec.config, rec.dataset.pair),
        outputs={d: run.outputs(d) for d in rec.scores},
        versions=rec.versions,
        sources=run.sources,
        references=run.references(),
        created=rec.created,
        git_commit=rec.git_commit,
        segment_scores=_mean_segment_scores(run),
    )


def load_run(run_dir: str | Path) -> RunSnapshot:
    """A finished run folder, read and validated by mtharness.run.reader, as a snapshot."""
    return snapshot_of(read_run(run_dir))


def _mean_segment_scores(run: RunFolder) -> dict[str, dict[str, list[float]]]:
    """The stored segment scores of every segment-mean metric (COMET, ...) a direction has a score of."""
    from mtharness.scoring.protocol import SEGMENT_MEAN

    def is_mean(name: str) -> bool:
        info = registry.info_for_score(name)
        return info is not None and info.aggregation == SEGMENT_MEAN

    out: dict[str, dict[str, list[float]]] = {}
    for direction, metrics in run.record.scores.items():
        for name in (n for n in metrics if is_mean(n)):
            values = run.segment_scores(direction, name)
            if values is not None:
                out.setdefault(direction, {})[name] = values
    return out


def baseline_payload(run: RunSnapshot, run_dir: str | Path) -> dict[str, Any]:
    """The baseline file's JSON document for a loaded run."""
    return {
        "mtharness_baseline": BASELINE_FORMAT,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "from_run": str(run_dir),
        "run_created": run.created,
        "git_commit": run.git_commit,
        "dataset": run.dataset_json(),
        "translator": dict(run.translator),
        "versions": {k: v for k, v in run.versions.items() if k in ("mtharness", "sacrebleu", "python")},
        "scores": {d: {n: metric_json(m) for n, m in per.items()} for d, per in run.scores.items()},
        "rates": run.rates,
        "metrics": {
            name: spec for name, spec in run.metrics.items() if any(name in run.scores[d] for d in run.scores)
        },
        "outputs": dict(run.outputs),
        "segment_scores": {d: dict(per) for d, per in run.segment_scores.items()},
    }


def save_baseline(run_dir: str | Path, path: str | Path, run: RunSnapshot | None = None) -> dict[str, Any]:
    """`mtharness baseline save`: freeze a finished run into a baseline file (written atomically);
    ``run``: the run folder's snapshot when the caller has already read it."""
    payload = baseline_payload(run or load_run(run_dir), run_dir)
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
    rates = _need(doc, "rates", dict, p) if "rates" in doc else {}
    where = f"baseline {p}: rates"
    pair = dataset["pair"]
    src, _, tgt = pair.partition("-")
    return RunSnapshot(
        origin=f"baseline {p}",
        dataset=DatasetInfo(
            name=str(dataset.get("name") or ""),
            pair=pair,
            src_lang=str(dataset.get("src_lang") or src),
            tgt_lang=str(dataset.get("tgt_lang") or tgt),
            references=tuple(str(r) for r in dataset["references"]),
            content_hash=dataset["content_hash"],
            origin=str(dataset.get("origin") or ""),
        ),
        n_segments=dataset["n_segments"],
        translator=dict(_need(doc, "translator", dict, p)),
        scores=scores_from_json(scores, f"baseline {p}", SAVE_HINT),
        copy_rate=parse_rate(rates.get("copy_rate"), "copy_rate", where, SAVE_HINT),
        off_target_rate=parse_rate(rates.get("off_target_rate"), "off_target_rate", where, SAVE_HINT),
        metrics=dict(doc.get("metrics") or {}),
        outputs={d: list(outputs[d]) for d in scores},
        versions=dict(doc.get("versions") or {}),
        created=doc.get("created"),
        from_run=doc.get("from_run"),
        git_commit=doc.get("git_commit"),
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
