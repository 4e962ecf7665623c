"""The one reader of a finished run folder (what run/writer.py wrote), for compare, gate and reports.

A run folder is complete when scores.json exists (the writer writes it last). ``read_run`` checks its
``schema_version`` against the one this mtharness writes, validates every key ONCE into a frozen
:class:`~mtharness.run.record.RunRecord`, and returns it in a :class:`RunFolder`; segments.jsonl is
read (and checked against ``n_segments``) only when a caller asks for the rows, so a leaderboard over
hundreds of runs reads scores only. Anything wrong is one :class:`MtharnessError` line naming the
file and what to do. Read a folder once per command and pass the RunFolder on.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from mtharness.core import DIRECTIONS, Direction, MetricResult, MtharnessError
from mtharness.run.record import (
    KNOWN_KEYS,
    RERUN,
    SCHEMA_VERSION,
    CacheCounts,
    DatasetInfo,
    DirectionRecord,
    LangIdInfo,
    RunRecord,
    is_number,
    judges_from_json,
    parse_rate,
    scores_from_json,
)
from mtharness.textio import read_jsonl, read_text

SCORES_FILE = "scores.json"
SEGMENTS_FILE = "segments.jsonl"


@dataclass(frozen=True)
class RunFolder:
    """One finished run: its folder and its record; ``rows`` (read on first use) are the segments.jsonl
    rows, one per segment, in order."""

    path: Path
    record: RunRecord

    @property
    def scores_path(self) -> Path:
        return self.path / SCORES_FILE

    @property
    def segments_path(self) -> Path:
        return self.path / SEGMENTS_FILE

    @property
    def name(self) -> str:
        """The translator's name, else the folder's."""
        return self.record.name or self.path.name

    @property
    def dataset(self) -> DatasetInfo:
        return self.record.dataset

    @property
    def translator(self) -> Mapping[str, Any]:
        return self.record.translator

    @property
    def scores(self) -> dict[str, Mapping[str, MetricResult]]:
        return self.record.scores

    @property
    def rates(self) -> dict[str, float]:
        return self.record.rates

    @property
    def config(self) -> Mapping[str, Any]:
        return self.record.config

    @property
    def versions(self) -> Mapping[str, str]:
        return self.record.versions

    @property
    def n_segments(self) -> int:
        return self.record.n_segments

    @property
    def src_lang(self) -> str:
        return self.record.dataset.src_lang

    @property
    def tgt_lang(self) -> str:
        return self.record.dataset.tgt_lang

    @property
    def content_hash(self) -> str:
        return self.record.dataset.content_hash

    @property
    def reference_names(self) -> list[str]:
        return list(self.record.dataset.references)

    @property
    def created(self) -> str | None:
        return self.record.created

    @property
    def git_commit(self) -> str | None:
        return self.record.git_commit

    def directions(self) -> list[str]:
        """The scored directions, forward first."""
        return self.record.scored_directions()

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

    def segment_scores_with_gaps(self, direction: str, name: str) -> list[float | None]:
        """The stored segment scores of ``name`` in ``direction``, None where a row has no number
        (an LLM judge's answer that could not be parsed is stored as null)."""
        out: list[float | None] = []
        for row in self.rows:
            value = ((row.get("scores") or {}).get(direction) or {}).get(name)
            out.append(float(value) if is_number(value) else None)
        return out

    def segment_scores(self, direction: str, name: str) -> list[float] | None:
        """The stored segment scores of ``name`` in ``direction``; None unless every row has a number."""
        out = []
        for row in self.rows:
            value = ((row.get("scores") or {}).get(direction) or {}).get(name)
            if not is_number(value):
                return None
            out.append(float(value))
        return out


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
    return RunFolder(folder, record_from_json(payload, f"scores file {scores_file}"))


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


def record_from_json(payload: Mapping[str, Any], where: str) -> RunRecord:
    """Parse and check a scores.json document; anything wrong is one error naming ``where``."""
    _check_schema(payload, where)
    ds = _need(payload, "dataset", Mapping, where)
    for key in ("name", "pair", "src_lang", "tgt_lang", "content_hash"):
        _need(ds, key, str, where, "dataset.")
    refs = _need(ds, "references", list, where, "dataset.")
    n_segments = _need(payload, "n_segments", int, where)
    if isinstance(n_segments, bool) or n_segments < 0:
        raise MtharnessError(f"{where}: 'n_segments' must be a count; {RERUN}")
    translator = _need(payload, "translator", Mapping, where)
    config, versions = payload.get("config") or {}, payload.get("versions") or {}
    if not isinstance(config, Mapping) or not isinstance(versions, Mapping):
        raise MtharnessError(f"{where}: 'config' and 'versions' must be objects; {RERUN}")
    scores = scores_from_json(_need(payload, "scores", Mapping, where), where)
    timing_nodes = payload.get("directions") or {}
    if not isinstance(timing_nodes, Mapping):
        raise MtharnessError(f"{where}: 'directions' must be an object; {RERUN}")
    directions = tuple(
        _direction(d, scores.get(d, {}), timing_nodes.get(d), ds, where)
        for d in DIRECTIONS
        if d in scores or d in timing_nodes
    )
    langid = payload.get("langid")
    empty = payload.get("empty_sources")
    return RunRecord(
        dataset=DatasetInfo(
            name=ds["name"],
            pair=ds["pair"],
            src_lang=ds["src_lang"],
            tgt_lang=ds["tgt_lang"],
            references=tuple(str(r) for r in refs),
            content_hash=ds["content_hash"],
            origin=str(ds.get("origin") or ""),
        ),
        translator=dict(translator),
        n_segments=n_segments,
        directions=directions,
        copy_rate=parse_rate(payload.get("copy_rate"), "copy_rate", where),
        off_target_rate=parse_rate(payload.get("off_target_rate"), "off_target_rate", where),
        langid=_langid(langid, where) if langid is not None else None,
        empty_sources=empty if isinstance(empty, int) and not isinstance(empty, bool) else None,
        timings={str(k): float(v) for k, v in (payload.get("timings") or {}).items() if is_number(v)},
        config=dict(config),
        versions={str(k): str(v) for k, v in versions.items()},
        git_commit=_optional_str(payload.get("git_commit")),
        created=_optional_str(payload.get("created")),
        run_dir=_optional_str(payload.get("run_dir")),
        schema_version=int(payload["schema_version"]),
        langid_cache=_optional_mapping(payload, "langid_cache", where),
        comet_cache=_optional_mapping(payload, "comet_cache", where),
        judges=judges_from_json(payload.get("judges"), where),
        cache_merge=_optional_mapping(payload, "cache_merge", where),
        threads=_optional_mapping(payload, "threads", where),
        document=_optional_mapping(payload, "document", where),
        semantic_skipped=_optional_str(payload.get("semantic_skipped")),
        translator_notes={k: v for k, v in payload.items() if k not in KNOWN_KEYS},
    )


def _check_schema(payload: Mapping[str, Any], where: str) -> None:
    if "schema_version" not in payload:
        raise MtharnessError(f"{where}: no 'schema_version' (not written by `mtharness run`?); {RERUN}")
    version = payload["schema_version"]
    if version != SCHEMA_VERSION or isinstance(version, bool):
        raise MtharnessError(
            f"{where}: schema_version {version!r}, this mtharness reads version {SCHEMA_VERSION}; "
            "read it with the mtharness that wrote it, or rerun the evaluation"
        )


_KIND_NAMES = {Mapping: "an object", list: "a list", str: "a string", int: "a whole number"}


def _need(doc: Mapping[str, Any], key: str, kind: type, where: str, prefix: str = "") -> Any:
    if key not in doc:
        raise MtharnessError(f"{where}: missing key '{prefix}{key}'; {RERUN}")
    value = doc[key]
    if not isinstance(value, kind):
        raise MtharnessError(
            f"{where}: '{prefix}{key}' must be {_KIND_NAMES.get(kind, kind.__name__)}, "
            f"found {type(value).__name__}; {RERUN}"
        )
    return value


def _optional_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _optional_mapping(payload: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any] | None:
    value = payload.get(key)
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise MtharnessError(f"{where}: '{key}' must be an object; {RERUN}")
    return dict(value)


def _number_or_none(value: Any) -> float | None:
    return float(value) if is_number(value) else None


def _direction(
    direction: Direction, scores: dict[str, MetricResult], node: Any, ds: Mapping[str, Any], where: str
) -> DirectionRecord:
    if node is not None and not isinstance(node, Mapping):
        raise MtharnessError(f"{where}: 'directions.{direction}' must be an object; {RERUN}")
    node = node or {}
    default_pair = ds["pair"] if direction == "forward" else f"{ds['tgt_lang']}-{ds['src_lang']}"
    cache = node.get("cache")
    counts = None
    if isinstance(cache, Mapping) and all(isinstance(cache.get(k), int) for k in ("hits", "misses")):
        counts = CacheCounts(int(cache["hits"]), int(cache["misses"]))
    return DirectionRecord(
        direction=direction,
        pair=str(node.get("pair") or default_pair),
        scores=scores,
        seconds=_number_or_none(node.get("seconds")),
        load_s=_number_or_none(node.get("load_s")),
        sentences_per_s=_number_or_none(node.get("sentences_per_s")),
        cache=counts,
    )


def _langid(node: Any, where: str) -> LangIdInfo:
    ok = (
        isinstance(node, Mapping)
        and isinstance(node.get("target"), str)
        and isinstance(node.get("signature"), str)
        and isinstance(node.get("n_undetermined"), int)
        and isinstance(node.get("detected"), Mapping)
    )
    if not ok:
        raise MtharnessError(
            f"{where}: 'langid' must hold target, signature, n_undetermined, detected; {RERUN}"
        )
    return LangIdInfo(node["target"], node["signature"], node["n_undetermined"], dict(node["detected"]))


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
