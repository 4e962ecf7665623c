"""Gate with other metric settings than the runs were scored with (`mtharness gate -tok none ...`).

A baseline file keeps its outputs and the current run keeps outputs, sources and references, so both
sides can be scored again with sacrebleu's options changed (the same options `compare` takes). The
stored scores of the metrics concerned are replaced on both sides; everything else is untouched.
The datasets are checked first: the current run's references score the baseline's outputs, which is
only right when both runs saw the very same data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from mtharness.core import MetricResult, MtharnessError
from mtharness.gate.baseline import RunSnapshot, metric_spec
from mtharness.gate.significance import SCORE_TOLERANCE
from mtharness.run.record import stored_metric
from mtharness.scoring.metrics import MetricSpec, apply_options, score_systems


def _same_data(base: RunSnapshot, cur: RunSnapshot) -> None:
    for key in ("pair", "content_hash", "references"):
        if getattr(base.dataset, key) != getattr(cur.dataset, key):
            raise MtharnessError(
                f"cannot re-score with new metric options: the runs' dataset {key} differs "
                "(gate runs on the same data)"
            )


def _refs(cur: RunSnapshot, direction: str) -> tuple[list[list[str]], str]:
    src, tgt = cur.dataset.src_lang, cur.dataset.tgt_lang
    if direction == "forward":
        if not cur.references:
            raise MtharnessError("re-scoring forward scores needs references; the current run has none")
        return cur.references, tgt
    if cur.sources is None:
        raise MtharnessError("re-scoring round-trip scores needs the sources; the current run has none")
    return [cur.sources], src


def _spec(base: RunSnapshot, cur: RunSnapshot, name: str) -> MetricSpec:
    node = base.metrics.get(name) or cur.metrics.get(name)
    if not node:
        raise MtharnessError(
            f"cannot re-score {name} with new metric options: neither run records how it was computed; "
            "re-save the baseline with this mtharness"
        )
    return metric_spec(node)


def _check_reproduced(base: RunSnapshot, direction: str, name: str, again: MetricResult) -> None:
    """The baseline's outputs must still give its stored score before they are scored anew."""
    stored = base.scores[direction][name]
    if again.signature != stored.signature or abs(again.score - stored.score) > SCORE_TOLERANCE:
        raise MtharnessError(
            f"{base.origin}: its {direction} outputs re-score to {name} {again.score:.4f} but it records "
            f"{stored.score:.4f}; the file was edited or made from other data; re-save it"
        )


def rescore(
    base: RunSnapshot, cur: RunSnapshot, options: Mapping[str, Any]
) -> tuple[RunSnapshot, RunSnapshot]:
    """Both snapshots with every score re-computed under ``options`` (SACREBLEU_OPTIONS keys)."""
    _same_data(base, cur)
    scores: tuple[dict[str, dict[str, MetricResult]], dict[str, dict[str, MetricResult]]] = ({}, {})
    metrics: dict[str, dict[str, Any]] = {}
    for direction in base.directions():
        if direction not in cur.scores:
            raise MtharnessError(f"the current run has no {direction} scores; rerun with the same round_trip")
        refs, lang = _refs(cur, direction)
        for i in (0, 1):
            scores[i][direction] = {}
        for name in base.scores[direction]:
            stored = _spec(base, cur, name)
            if stored.segment_mean:  # COMET & co: sacrebleu's options do not touch them; kept as scored
                scores[0][direction][name] = base.scores[direction][name]
                if name in cur.scores[direction]:
                    scores[1][direction][name] = cur.scores[direction][name]
                metrics[name] = {"kind": stored.kind, "args": dict(stored.args)}
                continue
            spec = apply_options([stored], options)[0]
            hyps = [base.outputs[direction], cur.outputs[direction]]
            (old, new), (_, cur_new) = score_systems([stored, spec], hyps, refs, lang)
            _check_reproduced(base, direction, name, old)
            # as stored, so they compare like the scores they replace
            scores[0][direction][new.name] = stored_metric(new)
            scores[1][direction][cur_new.name] = stored_metric(cur_new)
            metrics[new.name] = {"kind": spec.kind, "args": dict(spec.args)}
    return (
        replace(base, scores=scores[0], metrics=metrics),
        replace(cur, scores=scores[1], metrics=metrics),
    )
