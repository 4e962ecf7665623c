"""Run outputs: scores.json, segments.jsonl, hyp/rt text files and summary.md, all written atomically."""

from __future__ import annotations

import datetime as dt
import platform
import subprocess
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

from mtharness import __version__
from mtharness.core import RunResult, arrow
from mtharness.run.notes import how_to_read, no_references_line, usage_line, way_back_line
from mtharness.textio import (
    atomic_write_json,
    atomic_write_jsonl,
    atomic_write_lines,
    atomic_write_text,
    markdown_cell,
)
from mtharness.validity.notes import copy_flag, off_target_flag, run_warn_rates

SCHEMA_VERSION = 1
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


def scores_payload(result: RunResult, run_dir: str | Path | None = None) -> dict[str, Any]:
    """The self-describing scores.json document."""
    ds = result.dataset
    directions: dict[str, Any] = {}
    scores: dict[str, Any] = {}
    for d in result.directions():
        scores[d.direction] = {name: m.to_json() for name, m in d.scores.items()}
        sps = d.sentences_per_second
        directions[d.direction] = {
            "pair": str(d.pair),
            "seconds": round(d.seconds, 4),  # translating only
            "load_s": round(d.load_seconds, 4),  # loading/converting the model before it
            "sentences_per_s": round(sps, 2) if sps else None,
            "cache": d.cache,
        }
    timings = {f"{d.direction}_s": round(d.seconds, 4) for d in result.directions()}
    timings["load_s"] = round(sum(d.load_seconds for d in result.directions()), 4)
    timings.update({k: round(v, 4) for k, v in result.extras.get("timings", {}).items()})
    payload: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "run_dir": str(run_dir) if run_dir else None,
        "dataset": {
            "name": ds.name,
            "origin": ds.origin,
            "pair": str(ds.pair),
            "src_lang": ds.pair.src,
            "tgt_lang": ds.pair.tgt,
            "references": list(ds.ref_names),
            "content_hash": ds.content_hash(),
        },
        "translator": result.translator,
        "n_segments": len(ds),
        "scores": scores,
        "copy_rate": round(result.copy_rate, 6),
        "directions": directions,
        "timings": timings,
        "config": result.config,
        "versions": package_versions(),
        "git_commit": git_commit(),
    }
    for key, value in result.extras.items():
        if key != "timings":
            payload[key] = value
    return payload


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


def validity_lines(payload: dict[str, Any]) -> list[str]:
    """summary.md lines for the validity checks: off-target rate and whole-document scores."""
    lines: list[str] = []
    if "off_target_rate" in payload:
        rate, info = payload["off_target_rate"], payload.get("langid", {})
        found = ", ".join(
            f"{k} {n}" for k, n in sorted(info.get("detected", {}).items(), key=lambda x: -x[1])
        )
        if rate is None:
            lines += ["", "off-target rate undetermined (every forward output too short for language ID)"]
        else:
            warn = run_warn_rates(payload.get("config")).off_target_rate
            note = off_target_flag(rate, warn)
            lines += [
                "",
                f"off-target rate {rate:.3f} (target {info.get('target')}; detected: {found})"
                + (f" (**{note}**)" if note else ""),
            ]
    for doc, entry in payload.get("document", {}).get("documents", {}).items():
        cells = "; ".join(
            f"{d} " + ", ".join(f"{n} {m['score']:.2f}" for n, m in entry[d].items() if isinstance(m, dict))
            for d in ("forward", "round_trip")
            if entry.get(d)
        )
        lines += ["", f"document {doc} ({entry['n_paragraphs']} paragraphs, scored whole): {cells}"]
    return lines


def llm_lines(payload: dict[str, Any]) -> list[str]:
    """summary.md lines for LLM translators: the prompt and what output cleanup did per direction."""
    lines: list[str] = []
    prompt = payload.get("prompt")
    if isinstance(prompt, dict) and prompt.get("name"):
        hashes = ", ".join(f"{pair} `{h[:19]}`" for pair, h in (prompt.get("hash") or {}).items())
        lines += ["", f"prompt {prompt['name']}" + (f" (rendered template hash: {hashes})" if hashes else "")]
    cleanup = payload.get("llm_cleanup") or {}
    if cleanup:
        parts = []
        for direction, c in cleanup.items():
            what = "off" if not c.get("enabled", True) else f"{c['cleaned']} of {c['segments']} cleaned"
            parts.append(f"{direction}: {what}, {c['empty']} empty, {c['refused']} refused")
        lines += ["", "LLM output cleanup (raw outputs in segments.jsonl): " + "; ".join(parts)]
    return lines


def notes_lines(payload: dict[str, Any]) -> list[str]:
    """summary.md lines: an unscored forward direction, a way back that is not the system, usage."""
    lines = []
    if missing := no_references_line(payload):
        lines.append(f"forward: {missing}")
    if "round_trip" in payload["scores"] and (back := way_back_line(payload.get("translator"))):
        lines.append(f"round trip: {back}")
    if usage := usage_line(payload.get("usage")):
        lines.append(f"usage: {usage}")
    return lines


def summary_markdown(payload: dict[str, Any], rows: list[dict[str, Any]], worst: int = 10) -> str:
    ds = payload["dataset"]
    copying = copy_flag(payload["copy_rate"], run_warn_rates(payload.get("config")).copy_rate)
    lines = [
        f"# mtharness run: {payload['translator'].get('name')} on {ds['name']} ({ds['pair']})",
        "",
        f"{payload['n_segments']} segments; copy rate {payload['copy_rate']:.3f}"
        + (f" (**{copying}**)" if copying else ""),
        *validity_lines(payload),
        *[f"\n{line}" for line in notes_lines(payload)],
        "",
        f"How to read: {how_to_read(payload)}",
        *llm_lines(payload),
        "",
        "| direction | metric | score | signature |",
        "|---|---|---:|---|",
    ]
    for direction, metrics in payload["scores"].items():
        for name, m in metrics.items():
            lines.append(
                f"| {direction} | {name} {arrow(m['higher_is_better'])} | {m['score']:.2f} | `{m['signature']}` |"
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


def write_run(result: RunResult, run_dir: str | Path) -> dict[str, Any]:
    """Write every result file of a run; scores.json last, so its presence means the run completed."""
    out = Path(run_dir)
    out.mkdir(parents=True, exist_ok=True)
    payload = scores_payload(result, out)
    rows = segment_rows(result)
    atomic_write_lines(out / f"hyp.{result.forward.pair.tgt}.txt", result.forward.outputs)
    if result.round_trip is not None:
        atomic_write_lines(out / f"rt.{result.round_trip.pair.tgt}.txt", result.round_trip.outputs)
    atomic_write_jsonl(out / "segments.jsonl", rows)
    atomic_write_text(out / "summary.md", summary_markdown(payload, rows))
    atomic_write_json(out / "scores.json", payload)
    return payload
