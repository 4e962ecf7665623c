"""One run folder as the run index stores it: a plain JSON-able row (no web types), read ONCE per run.

A row is what the runs page and the run page show: every stored score exactly as scores.json holds
it (the same ``MetricResult`` the CLI prints: score, signature, higher_is_better, precision and any
extra such as ``judge_failures``), a 95% CI where the leaderboard computed one (its
``leaderboard.ci.json`` cache, the values ``mtharness leaderboard --json`` prints under ``ci``), the
copy and off-target rates, usage and cost of API systems, and the leaderboard's identity and group
(compare.identity.identity_key, compare.leaderboard.Entry.group: no second definition). A folder
the reader refuses becomes a row with status ``damaged`` and the reader's one-line reason.

Row keys: run_id, status ("ok" | "damaged"), reason, path, rel, dataset, pair, content_hash, group
[dataset, pair, hash12], translator (the translator's name), translator_identity (its settings),
identity (sha256), n_segments, created, scores {direction: {score name: cell}}, copy_rate,
off_target_rate, usage, cost, judge_failures {direction: {score name: n}} (None when no score has
any), has_segments. A score cell: score, signature, higher_is_better, precision, extra {...}, and
``ci`` (mean, half_width, low, high, n_samples, seed; rounded as the leaderboard's JSON) plus
``ci_low``/``ci_high`` when a CI is known, else ``ci`` None.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mtharness.compare.identity import identity_key
from mtharness.compare.leaderboard import CI_CACHE, Entry, read_ci_cache
from mtharness.compare.run_ci import cis_from_json
from mtharness.core import MtharnessError
from mtharness.run.reader import SCORES_FILE, SEGMENTS_FILE, RunFolder, read_run
from mtharness.scoring.significance import ConfidenceInterval

CiTable = dict[str, dict[str, dict[str, ConfidenceInterval]]]  # scores.json sha256 -> direction -> name -> CI


def load_ci_tables(roots: list[Path]) -> CiTable:
    """The CIs the leaderboard cached beside each root's leaderboard.md, by scores.json hash; where one
    run has CIs for several resample counts, the largest count wins (the leaderboard's default, 1000)."""
    best: dict[str, tuple[int, dict[str, Any]]] = {}
    for root in roots:
        for key, doc in read_ci_cache(root / CI_CACHE).items():
            digest, _, samples = str(key).partition(":")
            n = int(samples) if samples.isdigit() else 0
            if isinstance(doc, Mapping) and n >= best.get(digest, (-1, {}))[0]:
                best[digest] = (n, dict(doc))
    out: CiTable = {}
    for digest, (_, doc) in best.items():
        try:
            out[digest] = cis_from_json(doc)
        except (KeyError, TypeError, ValueError, AttributeError):
            continue  # an edited cache entry: that run shows no CI
    return out


def ci_files_key(roots: list[Path]) -> str:
    """(mtime, size) of each root's CI cache: when it changes, the rows are read again for their CIs."""
    parts = []
    for root in roots:
        try:
            st = (root / CI_CACHE).stat()
            parts.append(f"{st.st_mtime_ns}:{st.st_size}")
        except OSError:
            parts.append("-")
    return "|".join(parts)


def _cell(result: Any, ci: ConfidenceInterval | None) -> dict[str, Any]:
    cell: dict[str, Any] = {
        "score": result.score,  # exactly as stored (the reader's float of scores.json's number)
        "signature": result.signature,
        "higher_is_better": result.higher_is_better,
        "precision": result.precision,
        "extra": dict(result.extra),
        "ci": None if ci is None else ci.to_json(),
    }
    if ci is not None:
        cell["ci_low"], cell["ci_high"] = cell["ci"]["low"], cell["ci"]["high"]
    return cell


def _judge_failures(run: RunFolder) -> dict[str, dict[str, Any]] | None:
    found: dict[str, dict[str, Any]] = {}
    for direction, per in run.scores.items():
        for name, result in per.items():
            if "judge_failures" in result.extra:
                found.setdefault(direction, {})[name] = result.extra["judge_failures"]
    return found or None


def ok_row(run_id: str, rel: str, run: RunFolder, cis: CiTable, digest: str) -> dict[str, Any]:
    record = run.record
    entry = Entry(run, identity=identity_key(run))
    run_cis = cis.get(digest, {})
    usage = record.usage
    cost = usage.get("cost_estimate") if usage else None
    return {
        "run_id": run_id,
        "status": "ok",
        "reason": "",
        "path": str(run.path),
        "rel": rel,
        "dataset": record.dataset.name,
        "pair": record.dataset.pair,
        "content_hash": record.dataset.content_hash,
        "group": list(entry.group),
        "translator": run.name,
        "translator_identity": dict(record.translator),
        "identity": entry.identity,
        "n_segments": record.n_segments,
        "created": record.created or "",
        "scores": {
            d: {n: _cell(m, run_cis.get(d, {}).get(n)) for n, m in per.items()}
            for d, per in run.scores.items()
        },
        "copy_rate": record.copy_rate,
        "off_target_rate": record.off_target_rate,
        "usage": dict(usage) if usage else None,
        "cost": cost if isinstance(cost, int | float) and not isinstance(cost, bool) else None,
        "judge_failures": _judge_failures(run),
        "has_segments": run.segments_path.is_file(),
    }


def damaged_row(run_id: str, rel: str, path: Path, reason: str) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "status": "damaged",
        "reason": reason,
        "path": str(path),
        "rel": rel,
        "dataset": None,
        "pair": None,
        "content_hash": None,
        "group": None,
        "translator": None,
        "translator_identity": None,
        "identity": None,
        "n_segments": None,
        "created": "",
        "scores": {},
        "copy_rate": None,
        "off_target_rate": None,
        "usage": None,
        "cost": None,
        "judge_failures": None,
        "has_segments": (path / SEGMENTS_FILE).is_file(),
    }


def read_row(run_id: str, rel: str, folder: Path, cis: CiTable) -> dict[str, Any]:
    """The row of one run folder: read once with the one reader; anything wrong is a damaged row."""
    try:
        run = read_run(folder)
        digest = hashlib.sha256((folder / SCORES_FILE).read_bytes()).hexdigest()
        return ok_row(run_id, rel, run, cis, digest)
    except MtharnessError as exc:
        reason = str(exc)
    except (OSError, ValueError, TypeError, KeyError, RecursionError) as exc:
        # the reader promises MtharnessError; a file changing under us may still surprise it
        reason = f"run folder {folder}: unreadable ({type(exc).__name__}: {exc})"
    return damaged_row(run_id, rel, folder, " ".join(reason.split()))


def search_text(row: Mapping[str, Any]) -> str:
    """What free text matches: dataset, pair, translator and its settings, the run path, the reason."""
    parts = [
        row.get("dataset") or "",
        row.get("pair") or "",
        row.get("translator") or "",
        row.get("rel") or "",
        row.get("reason") or "",
        json.dumps(row.get("translator_identity") or {}, sort_keys=True, ensure_ascii=False),
    ]
    return "\n".join(parts).casefold()
