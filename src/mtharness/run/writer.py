"""Run outputs: scores.json, segments.jsonl, hyp/rt text files and summary.md, all written atomically."""

from __future__ import annotations

import datetime as dt
import platform
import subprocess
from collections.abc import Mapping
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

from mtharness import __version__
from mtharness.core import RunResult
from mtharness.run.folder import record_files
from mtharness.run.metric_use import metric_use_lines
from mtharness.run.notes import (
    how_to_read,
    judge_failures_cell,
    judge_lines,
    no_references_line,
    usage_line,
    way_back_line,
)
from mtharness.run.record import (
    DatasetInfo,
    DirectionRecord,
    LangIdInfo,
    RunRecord,
    judges_from_json,
    stored_metric,
)
from mtharness.textio import (
    arrow,
    atomic_write_json,
    atomic_write_jsonl,
    atomic_write_lines,
    atomic_write_text,
    markdown_cell,
    one_line,
)
from mtharness.validity.notes import WarnRates, copy_flag, off_target_flag, run_warn_rates

VERSIONED_PACKAGES = ("sacrebleu", "hydra-core", "omegaconf", "numpy", "torch", "transformers", "ctranslate2")
# keys that legitimately differ between two identical runs
VOLATILE_KEYS = ("created", "timings", "directions", "run_dir", "git_commit", "langid_cache", "comet_cache")


@cache
def package_versions() -> dict[str, str]:
    versions = {"mtharness": __version__, "python": platform.python_version()}
    for name in VERSIONED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


@cache
def git_commit() -> str | None:
    """The commit of the mtharness checkout in use (None for an installed wheel)."""
    here = Path(__file__).resolve().parent
    try:
        proc = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout.strip() or None if proc.returncode == 0 else None


def _rounded(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


def record_of(result: RunResult, run_dir: str | Path | None = None) -> RunRecord:
    """The frozen record of a finished run, rounded as scores.json stores it (reading it back gives it again)."""
    ds = result.dataset
    directions = []
    for d in result.directions():
        sps = d.sentences_per_second
        directions.append(
            DirectionRecord(
                direction=d.direction,
                pair=str(d.pair),
                scores={name: stored_metric(m) for name, m in d.scores.items()},
                seconds=round(d.seconds, 4),  # translating only
                load_s=round(d.load_seconds, 4),  # loading/converting the model before it
                sentences_per_s=round(sps, 2) if sps else None,
                cache=d.cache,
            )
        )
    timings = {f"{d.direction}_s": round(d.seconds, 4) for d in result.directions()}
    timings["load_s"] = round(sum(d.load_seconds for d in result.directions()), 4)
    timings.update({k: round(v, 4) for k, v in result.timings.items()})
    langid = result.langid
    return RunRecord(
        dataset=DatasetInfo(
            name=ds.name,
            pair=str(ds.pair),
            src_lang=ds.pair.src,
            tgt_lang=ds.pair.tgt,
            references=tuple(ds.ref_names),
            content_hash=ds.content_hash(),
            origin=ds.origin,
        ),
        translator=dict(result.translator),
        n_segments=len(ds),
        directions=tuple(directions),
        copy_rate=round(result.copy_rate, 6),
        off_target_rate=_rounded(result.off_target_rate, 6),
        langid=None
        if langid is None
        else LangIdInfo(
            langid["target"], langid["signature"], langid["n_undetermined"], dict(langid["detected"])
        ),
        empty_sources=result.empty_sources,
        timings=timings,
        config=dict(result.config),
        versions=package_versions(),
        git_commit=git_commit(),
        created=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        run_dir=str(run_dir) if run_dir else None,
        langid_cache=None if result.langid_cache is None else result.langid_cache.to_json(),
        comet_cache=result.comet_cache,
        judges=judges_from_json(result.judges, "the run's LLM judges"),
        cache_merge=result.cache_merge,
        threads=result.threads,
        document=result.document,
        semantic_skipped=result.semantic_skipped,
        translator_notes=dict(result.translator_notes),
    )


def segment_rows(result: RunResult) -> list[dict[str, Any]]:
    rows = []
    fwd, rt = result.forward, result.round_trip
    for i, seg in enumerate(result.dataset.segments):
        row: dict[str, Any] = {
            "id": seg.id,
            "source": seg.source,
            "references": list(seg.references),
            "forward": fwd.outputs[i],
            "round_trip": rt.outputs[i] if rt else None,
            "scores": {
                d.direction: {name: vals[i] for name, vals in d.segment_scores.items()}
                for d in result.directions()
                if d.segment_scores
            },
        }
        if seg.doc_id is not None:
            row["doc_id"] = seg.doc_id
        row.update({key: values[i] for key, values in result.segment_fields.items()})
        rows.append(row)
    return rows


def validity_lines(record: RunRecord, warn: WarnRates) -> list[str]:
    """summary.md lines for the validity checks: off-target rate and whole-document scores."""
    lines: list[str] = []
    if record.off_target_measured:
        rate, info = record.off_target_rate, record.langid
        detected = info.detected if info is not None else {}
        found = ", ".join(f"{k} {n}" for k, n in sorted(detected.items(), key=lambda x: -x[1]))
        if rate is None:
            lines += ["", "off-target rate undetermined (every forward output too short for language ID)"]
        else:
            note = off_target_flag(rate, warn.off_target_rate)
            lines += [
                "",
                f"off-target rate {rate:.3f} (target {info.target if info else None}; detected: {found})"
                + (f" (**{note}**)" if note else ""),
            ]
    for doc, entry in (record.document or {}).get("documents", {}).items():
        cells = "; ".join(
            f"{d} " + ", ".join(f"{n} {m['score']:.2f}" for n, m in entry[d].items() if isinstance(m, dict))
            for d in ("forward", "round_trip")
            if entry.get(d)
        )
        lines += ["", f"document {doc} ({entry['n_paragraphs']} paragraphs, scored whole): {cells}"]
    return lines


def llm_lines(notes: Mapping[str, Any]) -> list[str]:
    """summary.md lines for LLM translators: the prompt and what output cleanup did per direction."""
    lines: list[str] = []
    prompt = notes.get("prompt")
    if isinstance(prompt, dict) and prompt.get("name"):
        hashes = ", ".join(f"{pair} `{h[:19]}`" for pair, h in (prompt.get("hash") or {}).items())
        lines += ["", f"prompt {prompt['name']}" + (f" (rendered template hash: {hashes})" if hashes else "")]
    cleanup = notes.get("llm_cleanup") or {}
    if cleanup:
        parts = []
        for direction, c in cleanup.items():
            what = "off" if not c.get("enabled", True) else f"{c['cleaned']} of {c['segments']} cleaned"
            parts.append(f"{direction}: {what}, {c['empty']} empty, {c['refused']} refused")
        lines += ["", "LLM output cleanup (raw outputs in segments.jsonl): " + "; ".join(parts)]
    return lines


def notes_lines(record: RunRecord) -> list[str]:
    """summary.md lines: an unscored forward direction, a way back that is not the system, usage."""
    lines = []
    if missing := no_references_line(record):
        lines.append(f"forward: {missing}")
    if record.round_trip is not None and (back := way_back_line(record.translator)):
        lines.append(f"round trip: {back}")
    if usage := usage_line(record.usage):
        lines.append(f"usage: {usage}")
    lines += judge_lines(record)
    return lines


def _metric_use(record: RunRecord) -> list[str]:
    """summary.md lines: which metric scored what (against references, or quality estimation)."""
    uses = metric_use_lines(record)
    return ["", "Which metric scored what:", "", *(f"- {markdown_cell(u)}" for u in uses)] if uses else []


def summary_markdown(record: RunRecord, rows: list[dict[str, Any]], warn: WarnRates, worst: int = 10) -> str:
    ds = record.dataset
    copying = copy_flag(record.copy_rate, warn.copy_rate) if record.copy_rate is not None else None
    copy_shown = "n/a" if record.copy_rate is None else f"{record.copy_rate:.3f}"
    lines = [
        f"# mtharness run: {record.name} on {ds.name} ({ds.pair})",
        "",
        f"{record.n_segments} segments; copy rate {copy_shown}" + (f" (**{copying}**)" if copying else ""),
        *validity_lines(record, warn),
        *[f"\n{line}" for line in notes_lines(record)],
        "",
        f"How to read: {how_to_read(record)}",
        *_metric_use(record),
        *llm_lines(record.translator_notes),
        "",
        "| direction | metric | score | signature |",
        "|---|---|---:|---|",
    ]
    for d in record.directions:
        for name, m in d.scores.items():
            lines.append(
                f"| {d.direction} | {name} {arrow(m.higher_is_better)} | "
                f"{m.format()}{judge_failures_cell(record, d.direction, name)} | `{m.signature}` |"
            )
    scored = [r for r in rows if r.get("round_trip") is not None and "round_trip" in r["scores"]]
    if scored:
        scored.sort(key=lambda r: (r["scores"]["round_trip"]["chrF2"], r["id"]))
        lines += [
            "",
            f"## Worst {min(worst, len(scored))} round trips (segment chrF2)",
            "",
            "| id | chrF2 | semantic | forward lang | original | round trip |",
            "|---|---:|---:|---|---|---|",
        ]
        for r in scored[:worst]:
            sem = r["scores"]["round_trip"].get("semantic_similarity")
            lines.append(
                f"| {r['id']} | {r['scores']['round_trip']['chrF2']:.1f} | "
                f"{'' if sem is None else f'{sem:.3f}'} | {r.get('forward_lang', '')} | "
                f"{markdown_cell(r['source'])} | {markdown_cell(r['round_trip'])} |"
            )
    return "\n".join(lines) + "\n"


def write_run(result: RunResult, run_dir: str | Path, warn: WarnRates | None = None) -> RunRecord:
    """Write every result file of a run; scores.json (from the run's record) last, so its presence means
    the run completed. Returns the record written. ``warn``: the run's warn rates (RunSettings.warn);
    None reads them from the run's config."""
    out = Path(run_dir)
    out.mkdir(parents=True, exist_ok=True)
    record = record_of(result, out)
    rows = segment_rows(result)
    # a multi-line answer (sentence_level=false) is one line in the line-aligned files; segments.jsonl
    # keeps its raw text
    written = [
        atomic_write_lines(out / f"hyp.{result.forward.pair.tgt}.txt", map(one_line, result.forward.outputs))
    ]
    if result.round_trip is not None:
        written.append(
            atomic_write_lines(
                out / f"rt.{result.round_trip.pair.tgt}.txt", map(one_line, result.round_trip.outputs)
            )
        )
    written.append(atomic_write_jsonl(out / "segments.jsonl", rows))
    written.append(
        atomic_write_text(
            out / "summary.md", summary_markdown(record, rows, warn or record_warn_rates(record))
        )
    )
    record_files(out, written)  # manifest.json: what a later overwrite=true may remove
    record_files(out, [atomic_write_json(out / "scores.json", record.to_json())])
    return record


def record_warn_rates(record: RunRecord) -> WarnRates:
    """The warn rates the run recorded (validity.warn.* of its config), read once per summary."""
    return run_warn_rates(record.config)
