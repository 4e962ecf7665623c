"""The one reader of a finished run folder (what run/writer.py wrote), for compare, gate and reports.

A run folder is complete when scores.json exists (the writer writes it last). ``read_run`` checks its
``schema_version`` against the one this mtharness writes, validates every key the readers use ONCE,
and returns a frozen :class:`RunFolder`; segments.jsonl is read (and checked against ``n_segments``)
only when a caller asks for the rows, so a leaderboard over hundreds of runs reads scores only.
Anything wrong is one :class:`MtharnessError` line naming the file and what to do.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from mtharness.core import DIRECTIONS, MtharnessError
from mtharness.run.writer import SCHEMA_VERSION
from mtharness.textio import read_jsonl, read_text

SCORES_FILE = "scores.json"
SEGMENTS_FILE = "segments.jsonl"
# rates a run may record; lower is better for all of them (off_target_rate comes from validity)
RATES = ("copy_rate", "off_target_rate")
RERUN = "rerun the evaluation"


@dataclass(frozen=True)
class RunFolder:
    """One finished run, validated: its scores.json payload and typed views of it.

    ``scores`` maps direction -> metric name -> {score, signature, higher_is_better}; ``rows`` (read on
    first use) are the segments.jsonl rows, one per segment, in order.
    """

    path: Path
    payload: dict[str, Any] = field(repr=False)
    dataset: dict[str, Any]
    translator: dict[str, Any]
    scores: dict[str, dict[str, dict[str, Any]]]
    rates: dict[str, float]
    config: dict[str, Any] = field(repr=False)
    versions: dict[str, str] = field(repr=False)

    @property
    def scores_path(self) -> Path:
        return self.path / SCORES_FILE

    @property
    def segments_path(self) -> Path:
        return self.path / SEGMENTS_FILE

    @property
    def name(self) -> str:
        """The translator's name, else the folder's."""
        return str(self.translator.get("name") or self.path.name)

    @property
    def n_segments(self) -> int:
        return int(self.payload["n_segments"])

    @property
    def src_lang(self) -> str:
        return str(self.dataset["src_lang"])

    @property
    def tgt_lang(self) -> str:
        return str(self.dataset["tgt_lang"])

    @property
    def content_hash(self) -> str:
        return str(self.dataset["content_hash"])

    @property
    def reference_names(self) -> list[str]:
        return [str(r) for r in self.dataset["references"]]

    @property
    def created(self) -> str | None:
        value = self.payload.get("created")
        return None if value is None else str(value)

    @property
    def git_commit(self) -> str | None:
        value = self.payload.get("git_commit")
        return None if value is None else str(value)

    def directions(self) -> list[str]:
        """The scored directions, forward first."""
        return [d for d in DIRECTIONS if self.scores.get(d)]

    @cached_property
    def rows(self) -> list[dict[str, Any]]:
        """segments.jsonl, checked: one object per segment with its source and references."""
        return _read_rows(self.segments_path, self.n_segments, len(self.reference_names))

    @property
    def sources(self) -> list[str]:
        return [r["source"] for r in self.rows]

    def references(self) -> list[list[str]]:
        """Reference streams in sacrebleu's layout (one list per reference name)."""
        return [[r["references"][i] for r in self.rows] for i in range(len(self.reference_names))]

    def outputs(self, direction: str) -> list[str]:
        """The hypotheses of one direction (``forward`` or ``round_trip``); "" where a row has none."""
        return [str(r.get(direction) or "") for r in self.rows]

    @property
    def has_round_trip(self) -> bool:
        return bool(self.rows) and all(r.get("round_trip") is not None for r in self.rows)


def read_run(path: str | Path) -> RunFolder:
    """A run folder written by `mtharness run` (the folder, or its scores.json), validated."""
    given = Path(path)
    folder = given.parent if given.name == SCORES_FILE and given.is_file() else given
    if not folder.is_dir():
        raise MtharnessError(
            f"run folder {folder}: not a directory (pass the folder `mtharness run` printed)"
        )
    scores_file = folder / SCORES_FILE
    if not scores_file.is_file():
        raise MtharnessError(
            f"run folder {folder}: no {SCORES_FILE} (the run did not finish, or this is not a run folder)"
        )
    payload = _read_json(scores_file)
    _check_schema(payload, scores_file)
    dataset = _need(payload, "dataset", dict, scores_file)
    for key in ("name", "pair", "src_lang", "tgt_lang", "content_hash"):
        _need(dataset, key, str, scores_file, "dataset.")
    _need(dataset, "references", list, scores_file, "dataset.")
    n_segments = _need(payload, "n_segments", int, scores_file)
    if isinstance(n_segments, bool) or n_segments < 0:
        raise MtharnessError(f"scores file {scores_file}: 'n_segments' must be a count; {RERUN}")
    translator = _need(payload, "translator", dict, scores_file)
    config = payload.get("config") or {}
    versions = payload.get("versions") or {}
    if not isinstance(config, dict) or not isinstance(versions, dict):
        raise MtharnessError(f"scores file {scores_file}: 'config' and 'versions' must be objects; {RERUN}")
    return RunFolder(
        path=folder,
        payload=payload,
        dataset={**dataset, "n_segments": n_segments},
        translator=dict(translator),
        scores=_scores(_need(payload, "scores", dict, scores_file), scores_file),
        rates=_rates(payload, scores_file),
        config=dict(config),
        versions={str(k): str(v) for k, v in versions.items()},
    )


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(read_text(path, "scores file"))
    except json.JSONDecodeError as exc:
        raise MtharnessError(
            f"scores file {path}, line {exc.lineno}: not valid JSON ({exc.msg}); {RERUN}"
        ) from None
    if not isinstance(data, dict):
        raise MtharnessError(
            f"scores file {path}: expected a JSON object, found {type(data).__name__}; {RERUN}"
        )
    return data


def _check_schema(payload: dict[str, Any], path: Path) -> None:
    version = payload.get("schema_version")
    if "schema_version" not in payload:
        raise MtharnessError(
            f"scores file {path}: no 'schema_version' (not written by `mtharness run`?); {RERUN}"
        )
    if version != SCHEMA_VERSION or isinstance(version, bool):
        raise MtharnessError(
            f"scores file {path}: schema_version {version!r}, this mtharness reads version {SCHEMA_VERSION}; "
            "read it with the mtharness that wrote it, or rerun the evaluation"
        )


def _need(doc: dict[str, Any], key: str, kind: type, path: Path, prefix: str = "") -> Any:
    if key not in doc:
        raise MtharnessError(f"scores file {path}: missing key '{prefix}{key}'; {RERUN}")
    value = doc[key]
    if not isinstance(value, kind):
        raise MtharnessError(
            f"scores file {path}: '{prefix}{key}' must be {_KIND_NAMES.get(kind, kind.__name__)}, "
            f"found {type(value).__name__}; {RERUN}"
        )
    return value


_KIND_NAMES = {dict: "an object", list: "a list", str: "a string", int: "a whole number", bool: "true/false"}


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _scores(raw: dict[str, Any], path: Path) -> dict[str, dict[str, dict[str, Any]]]:
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for direction, metrics in raw.items():
        if direction not in DIRECTIONS:
            raise MtharnessError(
                f"scores file {path}: unknown direction {direction!r} under 'scores'; {RERUN}"
            )
        if not isinstance(metrics, dict):
            raise MtharnessError(f"scores file {path}: 'scores.{direction}' must be an object; {RERUN}")
        for name, m in metrics.items():
            where = f"'scores.{direction}.{name}'"
            if not isinstance(m, dict):
                raise MtharnessError(f"scores file {path}: {where} must be an object; {RERUN}")
            if not _is_number(m.get("score")):
                raise MtharnessError(
                    f"scores file {path}: {where} has score {m.get('score')!r}, not a number; {RERUN}"
                )
            if not isinstance(m.get("signature"), str) or not isinstance(m.get("higher_is_better"), bool):
                raise MtharnessError(
                    f"scores file {path}: {where} needs a 'signature' string and a 'higher_is_better' "
                    f"true/false; {RERUN}"
                )
        out[direction] = {name: dict(m) for name, m in metrics.items()}
    return out


def _rates(payload: dict[str, Any], path: Path) -> dict[str, float]:
    out = {}
    for name in RATES:
        value = payload.get(name)
        if isinstance(value, dict):  # a per-direction layout: the forward output is what is judged
            value = value.get("forward", value.get("rate"))
        if value is None:  # e.g. language ID undetermined
            continue
        if not _is_number(value):
            raise MtharnessError(f"scores file {path}: '{name}' is {value!r}, not a number; {RERUN}")
        out[name] = float(value)
    return out


def _read_rows(path: Path, n_segments: int, n_refs: int) -> list[dict[str, Any]]:
    rows = read_jsonl(path, "segments file", allow_empty_file=True)
    if not rows:
        raise MtharnessError(f"segments file {path}: no segments; {RERUN}")
    if len(rows) != n_segments:
        raise MtharnessError(
            f"run folder {path.parent}: segments.jsonl has {len(rows)} rows but scores.json says "
            f"{n_segments} segments; {RERUN}"
        )
    for i, row in enumerate(rows, 1):
        ok = (
            isinstance(row, dict)
            and isinstance(row.get("source"), str)
            and isinstance(row.get("references"), list)
            and len(row["references"]) >= n_refs
            and all(isinstance(r, str) for r in row["references"])
        )
        if not ok:
            raise MtharnessError(
                f"segments file {path}, row {i}: expected an object with 'source' and {n_refs} "
                f"'references'; {RERUN}"
            )
    return rows
