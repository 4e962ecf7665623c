"""The vocabulary of mtharness: every noun the rest of the package passes around."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any, Literal

Direction = Literal["forward", "round_trip"]
DIRECTIONS: tuple[Direction, ...] = ("forward", "round_trip")
# the one default seed of every random draw (bootstrap CIs, paired tests, the gate's significance):
# sacrebleu's own default ($SACREBLEU_SEED), so equal settings give sacrebleu's numbers
DEFAULT_SEED = 12345


class MtharnessError(Exception):
    """A user-facing error: its message is one line that says what is wrong and what to do."""


_LANG_CODE = re.compile(r"^[A-Za-z]{2,8}(_[A-Za-z0-9]{1,8})*$")


@dataclass(frozen=True)
class LanguagePair:
    src: str
    tgt: str

    def __post_init__(self) -> None:
        # codes end up in file names (hyp.<tgt>.txt): refuse anything that could leave the run dir
        for code in (self.src, self.tgt):
            if not isinstance(code, str) or not _LANG_CODE.match(code):
                raise MtharnessError(
                    f"language code {code!r} is not valid: use letters, digits and _ (e.g. en, de, zh_Hant)"
                )

    def reversed(self) -> LanguagePair:
        return LanguagePair(self.tgt, self.src)

    def __str__(self) -> str:
        return f"{self.src}-{self.tgt}"

    @classmethod
    def parse(cls, text: str) -> LanguagePair:
        src, sep, tgt = text.partition("-")
        if not sep or not src or not tgt:
            raise MtharnessError(f"language pair {text!r} is not of the form SRC-TGT (e.g. en-de)")
        return cls(src, tgt)


@dataclass(frozen=True)
class Segment:
    id: str
    source: str
    references: tuple[str, ...] = ()
    doc_id: str | None = None


@dataclass(frozen=True)
class Dataset:
    """A test set: aligned source segments with zero or more reference translations each."""

    name: str
    pair: LanguagePair
    segments: tuple[Segment, ...]
    ref_names: tuple[str, ...] = ()
    origin: str = ""

    def __len__(self) -> int:
        return len(self.segments)

    @property
    def sources(self) -> list[str]:
        return [s.source for s in self.segments]

    @property
    def reference_streams(self) -> list[list[str]]:
        """References in sacrebleu's layout: one list per reference, each aligned with the sources."""
        return [[s.references[i] for s in self.segments] for i in range(len(self.ref_names))]

    def content_hash(self) -> str:
        """sha256 over language pair, sources and references: two datasets compare only if equal."""
        h = hashlib.sha256()
        h.update(f"{self.pair}\n{len(self.ref_names)}\n".encode())
        for seg in self.segments:
            for text in (seg.id, seg.source, *seg.references):
                h.update(text.encode("utf-8"))
                h.update(b"\x00")
            h.update(b"\x01")
        return h.hexdigest()

    def subset(self, limit: int | None) -> Dataset:
        if limit is None or limit >= len(self.segments):
            return self
        if limit < 1:
            raise MtharnessError(f"limit={limit} must be a positive number of segments (or null for all)")
        return Dataset(self.name, self.pair, self.segments[:limit], self.ref_names, self.origin)


DEFAULT_PRECISION = 2  # decimals of a score whose metric declares none (and of old scores.json files)


def gain(delta: float, higher_is_better: bool) -> float:
    """A score difference (new - old) turned so that positive always means better."""
    return delta if higher_is_better else -delta


def format_score(value: float, precision: int = DEFAULT_PRECISION, sign: bool = False) -> str:
    """A score (or a difference, ``sign``) with its metric's display precision: BLEU 2, COMET 4."""
    return f"{float(value):{'+' if sign else ''}.{int(precision)}f}"


@dataclass(frozen=True)
class MetricResult:
    """One corpus-level score; it never travels without its signature, direction and precision."""

    name: str
    score: float
    signature: str
    higher_is_better: bool
    extra: dict[str, Any] = field(default_factory=dict)
    precision: int = DEFAULT_PRECISION  # decimals to display (the metric's; COMET 4)

    def better_than(self, other: MetricResult | float) -> bool:
        """Strictly better than ``other`` (a score of the same metric, or a number)."""
        theirs = other.score if isinstance(other, MetricResult) else float(other)
        return self.is_improvement(self.score - theirs)

    def is_improvement(self, delta: float) -> bool:
        """Whether a change of ``delta`` (new - old) in this metric is for the better."""
        return gain(delta, self.higher_is_better) > 0

    def format(self, value: float | None = None, sign: bool = False) -> str:
        return format_score(self.score if value is None else value, self.precision, sign)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "score": round(float(self.score), max(4, self.precision + 2)),
            "signature": self.signature,
            "higher_is_better": self.higher_is_better,
            "precision": self.precision,
        }
        out.update(self.extra)
        return out


Score = MetricResult  # the name the metric protocol uses


@dataclass(frozen=True)
class CacheCounts:
    """Cache hits and misses, counted per input segment (one direction of the translation cache,
    or the language-ID labels of a run)."""

    hits: int
    misses: int

    def to_json(self) -> dict[str, int]:
        return {"hits": self.hits, "misses": self.misses}


@dataclass
class DirectionResult:
    """Outputs and scores of one translation direction (forward, or the round trip back)."""

    direction: Direction
    pair: LanguagePair
    outputs: list[str]
    scores: dict[str, MetricResult] = field(default_factory=dict)
    segment_scores: dict[str, list[float]] = field(default_factory=dict)
    seconds: float = 0.0  # translating only: loading the model is load_seconds
    cache: CacheCounts | None = None  # translation-cache hits and misses (None: no cache)
    load_seconds: float = 0.0

    @property
    def sentences_per_second(self) -> float | None:
        if self.seconds <= 0:
            return None
        return len(self.outputs) / self.seconds


@dataclass
class RunResult:
    """A run in the making: evaluate() fills it, validity checks and model metrics add to it, and
    run.record.record_of turns it into the frozen RunRecord that scores.json is written from."""

    dataset: Dataset
    translator: dict[str, Any]
    forward: DirectionResult
    round_trip: DirectionResult | None
    copy_rate: float
    config: dict[str, Any] = field(default_factory=dict)
    # extra per-segment values (e.g. forward_lang), one list per key, written into segments.jsonl rows
    segment_fields: dict[str, list[Any]] = field(default_factory=dict)
    empty_sources: int = 0
    timings: dict[str, float] = field(default_factory=dict)  # scoring_s, comet_s, validity_s
    off_target_rate: float | None = None  # set by language ID; None: not measured or undetermined
    langid: dict[str, Any] | None = None  # {target, signature, n_undetermined, detected}
    langid_cache: CacheCounts | None = None
    semantic_skipped: str | None = None
    document: dict[str, Any] | None = None  # whole-document scores (validity.document)
    comet_cache: dict[str, Any] | None = None
    judges: dict[str, Any] | None = None  # LLM judges: {score name: {directions: {...}, usage: {...}}}
    threads: dict[str, Any] | None = None
    cache_merge: dict[str, Any] | None = None
    # what the translator reports about the run (run_info, output summaries): prompt, truncation, usage ...
    translator_notes: dict[str, Any] = field(default_factory=dict)

    def directions(self) -> list[DirectionResult]:
        return [d for d in (self.forward, self.round_trip) if d is not None]
