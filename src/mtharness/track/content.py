"""What a tracker logs of one finished run folder: parameters, metrics, tags, artifacts, a segment table.

Everything comes from the run folder as the run-folder reader validated it (``load_run`` is the one
place that reads it, so a typed run record can replace the reader's result there alone). Names are
the same for every tracker: ``<direction>.<score name>`` (``forward.BLEU``, ``round_trip.chrF2``),
with characters MLflow refuses in a name (``+``) spelt out (``chrF2++`` -> ``chrF2pp``).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mtharness.compare.identity import identity_key
from mtharness.compare.run_ci import run_cis
from mtharness.core import MtharnessError
from mtharness.run.reader import RunFolder, read_run
from mtharness.track.secrets import environment_secrets, redact, scrub

ARTIFACTS = ("scores.json", "summary.md", "segments.jsonl", "report.html")
HASHED_FILES = ("scores.json", "segments.jsonl")  # what a run's results are; report.html may come later
IDENTITY_TAG = "mtharness.identity"
FOLDER_HASH_TAG = "mtharness.folder_hash"
# the segment table is for reading in the tracker's UI (W&B refuses tables over 200k rows);
# segments.jsonl, logged beside it, keeps every segment
TABLE_ROWS = 10_000
_BAD_NAME_CHAR = re.compile(r"[^\w./\- :]")


def load_run(path: str | Path) -> RunFolder:
    """The adapter: the finished run folder, validated (today run.reader's RunFolder)."""
    return read_run(path)


def metric_name(*parts: str) -> str:
    """'forward', 'chrF2++' -> 'forward.chrF2pp': a name every tracker accepts."""
    text = ".".join(parts).replace("+", "p")
    return _BAD_NAME_CHAR.sub("_", text)


def flatten(value: Any, prefix: str = "") -> dict[str, str]:
    """Nested mappings as dotted keys; every leaf as text (JSON for non-strings: null, true, [1, 2])."""
    out: dict[str, str] = {}
    if isinstance(value, Mapping) and (value or not prefix):
        for key, sub in value.items():
            out.update(flatten(sub, f"{prefix}.{key}" if prefix else str(key)))
    else:
        out[prefix] = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return out


def _numbers(value: Any, prefix: str) -> dict[str, float]:
    """Numeric leaves of a nested mapping (timings, speeds, usage and cost), by dotted name."""
    out: dict[str, float] = {}
    if isinstance(value, Mapping):
        for key, sub in value.items():
            out.update(_numbers(sub, f"{prefix}.{key}"))
    elif isinstance(value, int | float) and not isinstance(value, bool):
        out[metric_name(prefix)] = float(value)
    return out


def folder_hash(run: RunFolder) -> str:
    """sha256 over the run's result files: equal means the same finished run."""
    digest = hashlib.sha256()
    for name in HASHED_FILES:
        path = run.path / name
        digest.update(name.encode() + b"\0" + (path.read_bytes() if path.is_file() else b"") + b"\0")
    return digest.hexdigest()


@dataclass
class Logged:
    """One run as a tracker receives it; ``secrets`` are values no logged text may contain."""

    run: RunFolder
    params: dict[str, str]
    metrics: dict[str, float]
    tags: dict[str, str]
    artifacts: list[Path]
    table_columns: list[str]
    table_rows: list[list[Any]]
    identity: str
    folder_hash: str
    config: dict[str, Any] = field(default_factory=dict)  # the redacted config (W&B's run config)
    secrets: set[str] = field(default_factory=set)

    @property
    def name(self) -> str:
        return self.run.path.name


def scores_metrics(run: RunFolder) -> dict[str, float]:
    return {metric_name(d, m): float(v.score) for d in run.directions() for m, v in run.scores[d].items()}


def ci_metrics(run: RunFolder, ci_n: int) -> dict[str, float]:
    """95% bootstrap CI bounds of BLEU and chrF (compare.run_ci), as ``<direction>.<score>.ci_low/high``."""
    if ci_n <= 0:
        return {}
    try:
        cis = run_cis(run, ci_n)
    except MtharnessError:  # a broken segments.jsonl: scores are still logged, without bounds
        return {}
    out = {}
    for direction, per in cis.items():
        for name, ci in per.items():
            out[metric_name(direction, name, "ci_low")] = round(ci.low, 4)
            out[metric_name(direction, name, "ci_high")] = round(ci.high, 4)
    return out


def all_metrics(run: RunFolder, ci_n: int) -> dict[str, float]:
    record = run.record
    metrics = {**scores_metrics(run), **ci_metrics(run, ci_n)}
    metrics.update({name: value for name, value in run.rates.items()})
    metrics.update(_numbers(dict(record.timings), "timings"))
    metrics.update(_numbers({d.direction: d.timing_json() for d in record.directions}, "directions"))
    metrics.update(_numbers(record.usage, "usage"))
    return metrics


def segment_table(run: RunFolder) -> tuple[list[str], list[list[Any]]]:
    """One row per segment (the first TABLE_ROWS): id, source, first reference, translation, round
    trip, segment scores."""
    names = sorted({(d, m) for r in run.rows for d, per in (r.get("scores") or {}).items() for m in per})
    columns = [
        "id",
        "source",
        "reference",
        "translation",
        "round_trip",
        *[metric_name(d, m) for d, m in names],
    ]
    rows = []
    for i, r in enumerate(run.rows[:TABLE_ROWS], 1):
        scores = r.get("scores") or {}
        rows.append(
            [
                str(r.get("id", i)),
                r["source"],
                r["references"][0] if r["references"] else "",
                r.get("forward") or "",
                r.get("round_trip") or "",
                *[scores.get(d, {}).get(m) for d, m in names],
            ]
        )
    return columns, rows


def what_to_log(path: str | Path, ci_n: int = 1000) -> Logged:
    """Everything a tracker gets of the finished run at ``path`` (validated; secrets redacted)."""
    run = load_run(path)
    secrets = environment_secrets()
    config = redact(run.config, secrets)
    identity, fhash = identity_key(run), folder_hash(run)
    params = flatten(config)
    params.update(
        {
            "mtharness.identity": identity,
            "mtharness.content_hash": run.content_hash,
            "mtharness.git_commit": run.git_commit or "unknown",
        }
    )
    tags = {
        "dataset": run.dataset.name,
        "pair": run.dataset.pair,
        "translator": run.name,
        IDENTITY_TAG: identity,
        FOLDER_HASH_TAG: fhash,
        "mtharness.run_dir": str(run.path),
    }
    for d in run.directions():
        for m, v in run.scores[d].items():
            tags[metric_name("signature", d, m)] = v.signature
    columns, rows = segment_table(run)
    artifacts = [run.path / name for name in ARTIFACTS if (run.path / name).is_file()]
    return Logged(
        run=run,
        params={k: scrub(v, secrets) for k, v in redact(params, secrets).items()},
        metrics=all_metrics(run, ci_n),
        tags={k: scrub(v, secrets) for k, v in redact(tags, secrets).items()},
        artifacts=artifacts,
        table_columns=columns,
        table_rows=rows,
        identity=identity,
        folder_hash=fhash,
        config=config,
        secrets=secrets,
    )


def safe_artifacts(logged: Logged, scratch: Path) -> list[Path]:
    """The artifacts to upload: each file itself, or a copy in ``scratch`` with secrets taken out
    (scores.json's config redacted, every secret value scrubbed) where the file holds one."""
    out = []
    for path in logged.artifacts:
        text = path.read_text(encoding="utf-8", errors="replace")
        clean = text
        if path.name == "scores.json":
            original = json.loads(text)
            doc = redact(original, logged.secrets)
            if doc != original:
                clean = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
        clean = scrub(clean, logged.secrets)
        if clean == text:
            out.append(path)
            continue
        copy = scratch / path.name
        copy.write_text(clean, encoding="utf-8")
        out.append(copy)
    return out
