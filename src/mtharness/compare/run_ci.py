"""95% bootstrap confidence intervals of a finished run's stored scores, from its segments.jsonl.

scores.json keeps corpus scores only; the leaderboard wants them with CIs. The run's metrics are
rebuilt from its recorded config, scored once more on its own outputs (statistics extracted once,
then resampled: scoring.significance.bootstrap_ci, sacrebleu's estimate), and a CI is kept only
when the re-scored metric has the stored signature and score: a CI always belongs to the number
it stands beside. TER is left out by default (its edit distances make it the slow one on
paragraph-long segments); `mtharness report RUN` gives every metric's CI.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Any

from mtharness.core import DEFAULT_SEED
from mtharness.run.reader import RunFolder
from mtharness.scoring.metrics import MetricSpec, parse_specs, system_statistics
from mtharness.scoring.significance import ConfidenceInterval, bootstrap_ci

CI_KINDS = ("bleu", "chrf", "chrfpp")
SCORE_TOLERANCE = 1e-3  # scores.json rounds to 4 decimals


def run_specs(run: RunFolder, kinds: Sequence[str] = CI_KINDS) -> list[MetricSpec]:
    """The run's metric settings (its config's ``metrics`` node; the defaults when absent), of ``kinds``."""
    node = run.config.get("metrics")
    specs = parse_specs(node if isinstance(node, Mapping | list) and node else None)
    return [s for s in specs if s.kind in kinds]


def recorded_seed(run: RunFolder) -> int:
    """The seed the run recorded (its config's ``seed``), else DEFAULT_SEED."""
    seed = run.record.seed
    return DEFAULT_SEED if seed is None else seed


def run_cis(
    run: RunFolder, n_samples: int = 1000, kinds: Sequence[str] = CI_KINDS
) -> dict[str, dict[str, ConfidenceInterval]]:
    """direction -> score name -> CI, for each stored score of ``kinds`` that re-scores to itself."""
    specs = run_specs(run, kinds)
    out: dict[str, dict[str, ConfidenceInterval]] = {}
    if not specs:
        return out
    seed = recorded_seed(run)
    for direction in run.directions():
        if direction == "forward":
            refs, lang = run.references(), run.tgt_lang
        else:
            refs, lang = [run.sources], run.src_lang
        if not refs:
            continue
        stats = system_statistics(specs, {"run": run.outputs(direction)}, refs, lang, workers=1)
        for per_system in stats:
            st = per_system["run"]
            stored = run.scores[direction].get(st.metric_name)
            if (
                stored is None
                or stored.signature != st.signature
                or abs(stored.score - st.score) > SCORE_TOLERANCE
            ):
                continue  # other settings than recorded: no CI rather than a CI of another number
            out.setdefault(direction, {})[st.metric_name] = bootstrap_ci(st, n_samples, seed)
    return out


def cis_to_json(cis: Mapping[str, Mapping[str, ConfidenceInterval]]) -> dict[str, Any]:
    """CIs unrounded (to_json rounds; a cached CI must print exactly as a fresh one)."""
    return {d: {m: asdict(ci) for m, ci in per.items()} for d, per in cis.items()}


def cis_from_json(doc: Mapping[str, Any]) -> dict[str, dict[str, ConfidenceInterval]]:
    """CIs back from ``cis_to_json``, as the leaderboard's cache keeps them."""
    return {
        d: {
            m: ConfidenceInterval(
                float(c["mean"]), float(c["half_width"]), int(c["n_samples"]), int(c["seed"])
            )
            for m, c in per.items()
        }
        for d, per in doc.items()
    }
