"""The vocabulary of mtharness: every noun the rest of the package passes around."""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

Direction = Literal["forward", "round_trip"]
DIRECTIONS: tuple[Direction, ...] = ("forward", "round_trip")
# the one default seed of every random draw (bootstrap CIs, paired tests, the gate's significance):
# sacrebleu's own default ($SACREBLEU_SEED), so equal settings give sacrebleu's numbers
DEFAULT_SEED = 12345


# Default warn rates: a run whose forward output copies its source (copy rate) or is not in the target
# language (off-target rate) on more than this fraction of segments has inflated round-trip scores, and
# every summary (the terminal, summary.md, compare, report, leaderboard) says so. A run sets its own
# with validity.warn.copy_rate / validity.warn.off_target_rate; the readers take --copy-warn /
# --off-target-warn (mtharness.validity.notes).
COPY_WARN_RATE = 0.05
OFF_TARGET_WARN_RATE = 0.05


def arrow(higher_is_better: bool) -> str:
    """The arrow tables put after a metric's name: which way is better."""
    return "↑" if higher_is_better else "↓"


def usable_cores() -> int:
    """CPU cores this process may run on (its affinity mask where the OS has one, else all)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


class MtharnessError(Exception):
    """A user-facing error: its message is one line that says what is wrong and what to do."""


def config_dir() -> Path:
    """The configs/ folder: $MTHARNESS_CONFIGS, else the one shipped in the wheel, else the checkout's.

    Here, at the bottom, because `run` composes from it and the gate reads configs/gate/ too.
    """
    env = os.environ.get("MTHARNESS_CONFIGS")
    if env:
        return Path(env).resolve()
    packaged = Path(__file__).resolve().parent / "configs"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "configs"


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


@dataclass(frozen=True)
class MetricResult:
    """One corpus-level score; it never travels without its sacrebleu signature."""

    name: str
    score: float
    signature: str
    higher_is_better: bool
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "score": round(float(self.score), 4),
            "signature": self.signature,
            "higher_is_better": self.higher_is_better,
        }
        out.update(self.extra)
        return out


@dataclass
class DirectionResult:
    """Outputs and scores of one translation direction (forward, or the round trip back)."""

    direction: Direction
    pair: LanguagePair
    outputs: list[str]
    scores: dict[str, MetricResult] = field(default_factory=dict)
    segment_scores: dict[str, list[float]] = field(default_factory=dict)
    seconds: float = 0.0  # translating only: loading the model is load_seconds
    cache: dict[str, int] | None = None
    load_seconds: float = 0.0

    @property
    def sentences_per_second(self) -> float | None:
        if self.seconds <= 0:
            return None
        return len(self.outputs) / self.seconds


@dataclass
class RunResult:
    dataset: Dataset
    translator: dict[str, Any]
    forward: DirectionResult
    round_trip: DirectionResult | None
    copy_rate: float
    extras: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    # extra per-segment values (e.g. forward_lang), one list per key, written into segments.jsonl rows
    segment_fields: dict[str, list[Any]] = field(default_factory=dict)

    @property
    def off_target_rate(self) -> float | None:
        """Share of forward outputs not in the target language (None: language ID off, or too short)."""
        return self.extras.get("off_target_rate")

    def directions(self) -> list[DirectionResult]:
        return [d for d in (self.forward, self.round_trip) if d is not None]
