"""The Run page's content: everything scores.json holds, read by the one run reader, in rows a
template prints (every score with its signature and precision, rates, timings, caches, usage and
cost, the resolved config, versions) and links to the run's files."""

from __future__ import annotations

import json
from typing import Any

from mtharness.compare.run_ci import run_cis
from mtharness.core import MtharnessError
from mtharness.run.notes import (
    judge_failures_cell,
    judge_lines,
    no_references_line,
    usage_line,
    way_back_line,
)
from mtharness.run.reader import RunFolder
from mtharness.serve.urlstate import num


def _rate(value: float | None, measured: bool = True) -> str:
    if not measured:
        return "not measured"
    return "undetermined" if value is None else num(value, 3)


CI_SAMPLES = 1000  # the leaderboard's default resample count: the Run page shows the same CIs


def _cis(run: RunFolder) -> tuple[dict[str, dict[str, Any]], str]:
    """95% bootstrap CIs of the run's sacrebleu scores, by the leaderboard's own code (seeded with the
    run's seed); a run whose segments cannot be re-scored shows its scores without CIs and says why."""
    try:
        return run_cis(run, CI_SAMPLES), ""
    except MtharnessError as exc:
        return {}, f"no CIs: {exc}"


def run_context(run: RunFolder) -> dict[str, Any]:
    rec = run.record
    ds = rec.dataset
    cis, ci_note = _cis(run)
    scores = [
        {
            "direction": d.direction,
            "pair": d.pair,
            "name": name,
            "score": m.format(),
            "raw": m.score,
            "ci": cis.get(d.direction, {}).get(name),
            "judge": judge_failures_cell(rec, d.direction, name).strip(" ()"),
            "precision": m.precision,
            "signature": m.signature,
            "higher_is_better": m.higher_is_better,
            "extra": {k: v for k, v in m.extra.items() if not isinstance(v, dict | list)},
        }
        for d in rec.directions
        for name, m in d.scores.items()
    ]
    timings = [
        {
            "direction": d.direction,
            "pair": d.pair,
            "seconds": num(d.seconds, 2),
            "load_s": num(d.load_s, 2),
            "sentences_per_s": num(d.sentences_per_s, 1),
            "hits": "" if d.cache is None else d.cache.hits,
            "misses": "" if d.cache is None else d.cache.misses,
        }
        for d in rec.directions
    ]
    rates = [
        ("copy rate (forward output identical to its source)", _rate(rec.copy_rate)),
        (
            "off-target rate (forward output not in the target language)",
            _rate(rec.off_target_rate, rec.off_target_measured),
        ),
    ]
    if rec.empty_sources is not None:
        rates.append(("empty source segments", str(rec.empty_sources)))
    if rec.langid is not None:
        detected = ", ".join(f"{k} {v}" for k, v in sorted(rec.langid.detected.items(), key=lambda x: -x[1]))
        rates.append(("languages detected in the forward output", detected))
        rates.append(("language ID", rec.langid.signature))
    notes = [line for line in (no_references_line(rec), way_back_line(rec.translator), ci_note) if line]
    notes += judge_lines(rec)
    caches = {
        k: dict(v)
        for k, v in (
            ("language-ID cache", rec.langid_cache),
            ("COMET cache", rec.comet_cache),
            ("shard cache merge", rec.cache_merge),
            ("threads", rec.threads),
        )
        if v
    }
    other_notes = {k: v for k, v in rec.translator_notes.items() if k != "usage"}
    return {
        "run": run,
        "record": rec,
        "dataset": ds,
        "scores": scores,
        "ci_samples": CI_SAMPLES,
        "timings": timings,
        "overall_timings": {k: num(v, 2) for k, v in rec.timings.items()},
        "rates": rates,
        "notes": notes,
        "usage": dict(rec.usage) if rec.usage else None,
        "usage_line": usage_line(rec.usage),
        "caches": caches,
        "translator_json": json.dumps(dict(rec.translator), indent=2, ensure_ascii=False, default=str),
        "notes_json": json.dumps(other_notes, indent=2, ensure_ascii=False, default=str)
        if other_notes
        else "",
        "config_json": json.dumps(dict(rec.config), indent=2, ensure_ascii=False, default=str),
        "versions": sorted(rec.versions.items()),
        "semantic_skipped": rec.semantic_skipped,
    }
