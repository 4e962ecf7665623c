"""The Run page's content: everything scores.json holds, read by the one run reader, in rows a
template prints (every score with its signature and precision, rates, timings, caches, usage and
cost, the resolved config, versions) and links to the run's files."""

from __future__ import annotations

import json
from typing import Any

from mtharness.run.notes import no_references_line, usage_line, way_back_line
from mtharness.run.reader import RunFolder
from mtharness.serve.urlstate import num


def _rate(value: float | None, measured: bool = True) -> str:
    if not measured:
        return "not measured"
    return "undetermined" if value is None else num(value, 3)


def run_context(run: RunFolder) -> dict[str, Any]:
    rec = run.record
    ds = rec.dataset
    scores = [
        {
            "direction": d.direction,
            "pair": d.pair,
            "name": name,
            "score": m.format(),
            "raw": m.score,
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
    notes = [line for line in (no_references_line(rec), way_back_line(rec.translator)) if line]
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
