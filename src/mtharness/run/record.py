"""A finished run as one frozen record: what scores.json holds, typed.

The writer (run/writer.py) builds a :class:`RunRecord` from the run and writes scores.json from it
(``to_json``); the reader (run/reader.py, ``record_from_json``) parses scores.json back into the same
record, so writing and reading a run gives back an equal record. Gate, compare, leaderboard,
report and the terminal summary read its attributes, never the JSON keys.

The format may gain keys; a reader keeps the ones it does not know (a backend's notes such as
``prompt``, ``truncation``, ``llm_cleanup``, ``usage``) in ``translator_notes`` and writes them back.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, TypeGuard

from mtharness.core import DIRECTIONS, CacheCounts, Direction, MetricResult, MtharnessError

SCHEMA_VERSION = 1
RERUN = "rerun the evaluation"
# rates a run may record; lower is better for both (off_target_rate comes from language ID)
RATES = ("copy_rate", "off_target_rate")
# top-level keys the record knows (run.reader.record_from_json); every other key is a translator's note (RunRecord.translator_notes)
KNOWN_KEYS = frozenset(
    {
        "schema_version",
        "created",
        "run_dir",
        "dataset",
        "translator",
        "n_segments",
        "scores",
        "directions",
        "timings",
        "config",
        "versions",
        "git_commit",
        "empty_sources",
        "langid",
        "langid_cache",
        "semantic_skipped",
        "document",
        "comet_cache",
        "judges",
        "threads",
        "cache_merge",
        *RATES,
    }
)


def is_number(value: Any) -> TypeGuard[int | float]:
    """A real, finite number (JSON true/false, NaN, infinities and strings are not)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def parse_rate(value: Any, name: str, where: str, hint: str = RERUN) -> float | None:
    """The one rule for a recorded rate: a finite fraction in [0, 1], or None where it was not
    measured (no language ID) or could not be (every output too short); never NaN.

    ``{"forward": r}`` (a per-direction layout) reads as its forward rate: the forward output is judged.
    """
    if isinstance(value, Mapping):
        value = value.get("forward", value.get("rate"))
    if value is None:
        return None
    if not is_number(value) or not 0.0 <= float(value) <= 1.0:
        raise MtharnessError(f"{where}: '{name}' is {value!r}, not a number between 0 and 1; {hint}")
    return float(value)


def metric_from_json(name: str, node: Any, where: str, hint: str = RERUN) -> MetricResult:
    """One stored score ({score, signature, higher_is_better, ...}) as a MetricResult; one error if malformed."""
    if not isinstance(node, Mapping):
        raise MtharnessError(f"{where}: must be an object; {hint}")
    if not is_number(node.get("score")):
        raise MtharnessError(f"{where}: has score {node.get('score')!r}, not a number (a finite one); {hint}")
    if not isinstance(node.get("signature"), str) or not isinstance(node.get("higher_is_better"), bool):
        raise MtharnessError(
            f"{where}: needs a 'signature' string and a 'higher_is_better' true/false; {hint}"
        )
    from mtharness.scoring.registry import precision_of

    extra = {
        k: v for k, v in node.items() if k not in ("score", "signature", "higher_is_better", "precision")
    }
    return MetricResult(
        name,
        float(node["score"]),
        node["signature"],
        node["higher_is_better"],
        extra,
        precision_of(name, node),
    )


def stored_metric(result: MetricResult) -> MetricResult:
    """A fresh score as a run stores it: sacrebleu's rounded to 4 decimals; a metric that carries its
    unrounded value in ``extra["score"]`` (COMET: 4 decimals would hide real differences) keeps that."""
    extra = dict(result.extra)
    exact = extra.pop("score", None)
    score = float(exact) if is_number(exact) else round(float(result.score), 4)
    return replace(result, score=score, extra=extra)


def metric_json(result: MetricResult) -> dict[str, Any]:
    """A stored score's JSON ({score, signature, higher_is_better, ...}) with the score exactly as held."""
    return {**result.to_json(), "score": result.score}


def scores_from_json(raw: Any, where: str, hint: str = RERUN) -> dict[str, dict[str, MetricResult]]:
    """direction -> metric name -> MetricResult, checked (scores.json ``scores``, a baseline's too)."""
    if not isinstance(raw, Mapping):
        raise MtharnessError(f"{where}: 'scores' must be an object; {hint}")
    out: dict[str, dict[str, MetricResult]] = {}
    for direction, metrics in raw.items():
        if direction not in DIRECTIONS:
            raise MtharnessError(f"{where}: unknown direction {direction!r} under 'scores'; {hint}")
        if not isinstance(metrics, Mapping):
            raise MtharnessError(f"{where}: 'scores.{direction}' must be an object; {hint}")
        out[direction] = {
            name: metric_from_json(name, m, f"{where}: 'scores.{direction}.{name}'", hint)
            for name, m in metrics.items()
        }
    return out


@dataclass(frozen=True)
class DatasetInfo:
    """The test set a run was made on; two runs compare only if their content hashes are equal."""

    name: str
    pair: str
    src_lang: str
    tgt_lang: str
    references: tuple[str, ...]
    content_hash: str
    origin: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "origin": self.origin,
            "pair": self.pair,
            "src_lang": self.src_lang,
            "tgt_lang": self.tgt_lang,
            "references": list(self.references),
            "content_hash": self.content_hash,
        }


@dataclass(frozen=True)
class DirectionRecord:
    """One translated direction: its scores (empty where nothing was scored) and its timings."""

    direction: Direction
    pair: str
    scores: Mapping[str, MetricResult] = field(default_factory=dict)
    seconds: float | None = None  # translating only
    load_s: float | None = None  # loading/converting the model before it
    sentences_per_s: float | None = None
    cache: CacheCounts | None = None

    def timing_json(self) -> dict[str, Any]:
        return {
            "pair": self.pair,
            "seconds": self.seconds,
            "load_s": self.load_s,
            "sentences_per_s": self.sentences_per_s,
            "cache": None if self.cache is None else self.cache.to_json(),
        }


@dataclass(frozen=True)
class JudgeRecord:
    """One LLM judge metric of a run (scores.json ``judges.<score name>``): per direction the segments
    it judged, the answers that could not be parsed (left out of the mean, never scored 0) and those
    read from the cache; and what its requests cost (translator=openai's ``usage`` layout)."""

    segments: Mapping[str, int]
    failures: Mapping[str, int]
    cache_hits: Mapping[str, int] = field(default_factory=dict)
    usage: Mapping[str, Any] = field(default_factory=dict)

    def failure_rate(self, direction: str) -> float | None:
        n = self.segments.get(direction, 0)
        return self.failures.get(direction, 0) / n if n else None

    def to_json(self) -> dict[str, Any]:
        directions = {
            d: {
                "segments": n,
                "judge_failures": self.failures.get(d, 0),
                "cache_hits": self.cache_hits.get(d, 0),
            }
            for d, n in self.segments.items()
        }
        return {"directions": directions, "usage": dict(self.usage)}


def _count(value: Any, where: str, hint: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise MtharnessError(f"{where}: {value!r} is not a count; {hint}")
    return value


def judges_from_json(raw: Any, where: str, hint: str = RERUN) -> dict[str, JudgeRecord]:
    """scores.json ``judges`` ({score name: {directions: {d: {segments, judge_failures, cache_hits}},
    usage}}) as records; absent: none."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise MtharnessError(f"{where}: 'judges' must be an object; {hint}")
    out = {}
    for name, node in raw.items():
        at = f"{where}: 'judges.{name}'"
        directions = node.get("directions") if isinstance(node, Mapping) else None
        usage = node.get("usage") or {} if isinstance(node, Mapping) else None
        if not isinstance(directions, Mapping) or not isinstance(usage, Mapping):
            raise MtharnessError(f"{at} needs 'directions' and 'usage' objects; {hint}")
        segments, failures, hits = {}, {}, {}
        for d, counts in directions.items():
            if d not in DIRECTIONS or not isinstance(counts, Mapping):
                raise MtharnessError(f"{at}: unknown direction {d!r} or not an object; {hint}")
            segments[d] = _count(counts.get("segments"), f"{at}.{d}.segments", hint)
            failures[d] = _count(counts.get("judge_failures"), f"{at}.{d}.judge_failures", hint)
            hits[d] = _count(counts.get("cache_hits", 0), f"{at}.{d}.cache_hits", hint)
        out[str(name)] = JudgeRecord(segments, failures, hits, dict(usage))
    return out


@dataclass(frozen=True)
class LangIdInfo:
    """Language ID of the forward output: what off_target_rate was computed from."""

    target: str
    signature: str
    n_undetermined: int
    detected: Mapping[str, int]

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "signature": self.signature,
            "n_undetermined": self.n_undetermined,
            "detected": dict(self.detected),
        }


@dataclass(frozen=True)
class RunRecord:
    """One finished run (scores.json), typed. ``directions`` are the translated directions, forward first."""

    dataset: DatasetInfo
    translator: Mapping[str, Any]  # the translator's identity: name, backend and its settings
    n_segments: int
    directions: tuple[DirectionRecord, ...]
    copy_rate: float | None
    off_target_rate: float | None = None  # None: not measured, or every output too short for language ID
    langid: LangIdInfo | None = None
    empty_sources: int | None = None
    timings: Mapping[str, float] = field(default_factory=dict)
    config: Mapping[str, Any] = field(default_factory=dict)  # the resolved Hydra config of the run
    versions: Mapping[str, str] = field(default_factory=dict)
    git_commit: str | None = None
    created: str | None = None
    run_dir: str | None = None
    schema_version: int = SCHEMA_VERSION
    # bookkeeping of caches and threads, and optional blocks: kept as recorded
    langid_cache: Mapping[str, Any] | None = None
    comet_cache: Mapping[str, Any] | None = None
    judges: Mapping[str, JudgeRecord] = field(default_factory=dict)  # LLM judges, by score name
    cache_merge: Mapping[str, Any] | None = None
    threads: Mapping[str, Any] | None = None
    document: Mapping[str, Any] | None = None
    semantic_skipped: str | None = None
    # what the translator reported about this run (prompt, truncation, llm_cleanup, usage and cost ...)
    translator_notes: Mapping[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return str(self.translator.get("name") or "")

    def direction(self, direction: str) -> DirectionRecord | None:
        return next((d for d in self.directions if d.direction == direction), None)

    @property
    def forward(self) -> DirectionRecord | None:
        return self.direction("forward")

    @property
    def round_trip(self) -> DirectionRecord | None:
        return self.direction("round_trip")

    @property
    def scores(self) -> dict[str, Mapping[str, MetricResult]]:
        """direction -> metric name -> score, for every direction with at least one score."""
        return {d.direction: d.scores for d in self.directions if d.scores}

    def score(self, direction: str, name: str) -> MetricResult | None:
        d = self.direction(direction)
        return None if d is None else d.scores.get(name)

    def scored_directions(self) -> list[str]:
        return [d.direction for d in self.directions if d.scores]

    @property
    def rates(self) -> dict[str, float]:
        """The measured rates by name (copy_rate, off_target_rate); an unmeasured one is absent."""
        found = {"copy_rate": self.copy_rate, "off_target_rate": self.off_target_rate}
        return {k: v for k, v in found.items() if v is not None}

    @property
    def off_target_measured(self) -> bool:
        """Whether language ID ran (its rate may still be None: every output too short)."""
        return self.langid is not None or self.off_target_rate is not None

    @property
    def seed(self) -> int | None:
        value = self.config.get("seed")
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    @property
    def usage(self) -> Mapping[str, Any] | None:
        """Tokens, requests and cost where an API translator reported them."""
        value = self.translator_notes.get("usage")
        return value if isinstance(value, Mapping) else None

    def to_json(self) -> dict[str, Any]:
        """The scores.json document (the writer's only source)."""
        payload: dict[str, Any] = {
            "schema_version": self.schema_version,
            "created": self.created,
            "run_dir": self.run_dir,
            "dataset": self.dataset.to_json(),
            "translator": dict(self.translator),
            "n_segments": self.n_segments,
            "scores": {
                d.direction: {n: metric_json(m) for n, m in d.scores.items()} for d in self.directions
            },
            "copy_rate": self.copy_rate,
            "directions": {d.direction: d.timing_json() for d in self.directions},
            "timings": dict(self.timings),
            "config": dict(self.config),
            "versions": dict(self.versions),
            "git_commit": self.git_commit,
        }
        if self.empty_sources is not None:
            payload["empty_sources"] = self.empty_sources
        if self.off_target_measured:
            payload["off_target_rate"] = self.off_target_rate
        if self.langid is not None:
            payload["langid"] = self.langid.to_json()
            payload["langid_cache"] = None if self.langid_cache is None else dict(self.langid_cache)
        for key in ("comet_cache", "cache_merge", "threads", "document"):
            value = getattr(self, key)
            if value is not None:
                payload[key] = dict(value)
        if self.judges:
            payload["judges"] = {name: j.to_json() for name, j in self.judges.items()}
        if self.semantic_skipped is not None:
            payload["semantic_skipped"] = self.semantic_skipped
        payload.update(self.translator_notes)
        return payload
