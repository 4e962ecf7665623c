"""The Translator protocol every backend implements, with its optional capabilities declared.

A translator is anything with these three (the protocol, checked at run time by ``mtharness run``):

``name: str``
    The label results and leaderboards show.
``translate(texts, src, tgt) -> list[str]``
    Batch in, batch out: one output per input, same order (``check_outputs`` enforces it). The backend
    batches as it likes. A round trip is the same call with the pair reversed.
``identity() -> dict``
    Everything that decides the outputs (backend, model ids and revisions, decoding settings, backend
    version, for an LLM the prompt template's hash): the translation cache keys on it.

Optional capabilities. Subclass :class:`TranslatorBase` to get the defaults below and override what
applies; a class that only follows the protocol gets the same defaults, because the rest of the
package asks through the functions at the end of this module, never by probing attributes itself.

``check_direction(src, tgt) -> None``
    Raise ``MtharnessError`` early when the backend cannot translate src-tgt (e.g. no checkpoint for
    the pair), before a cache or a long run starts. Default: accept every pair.
``run_info() -> dict``
    Notes about this run that scores.json should record, merged into it at the top level (e.g.
    ``{"truncation": {...}}``). Default: ``{}``.
``cache_counts() -> dict[str, CacheCounts]``
    Translation-cache hits and misses per language pair, counted per input segment (the translation
    cache reports ``{"en-es": CacheCounts(hits=3, misses=147)}``). Default: ``{}`` (no cache).
``cacheable: bool``
    Outputs may be stored in and served from the translation cache. False for backends whose
    outputs cost nothing to produce again (files). Default True.
``context_free: bool``
    The output for a segment never depends on the other segments in the call (their number, order
    or content). The cache, its de-duplication and sharded runs rely on it; a backend that is not
    context-free is never cached, unless it is ``batch_keyed``. Default True.
``batch_keyed: bool``
    For a backend that cannot promise ``context_free`` because padded batches might change float
    results (hf, ct2 with batch_size > 1): its ``identity()`` names the batching (batch size, token
    budget, ``batch_independent: false``), so cached outputs are keyed by it and runs with another
    batching never share them; scores.json records the same identity. Such a backend is cached.
    Default False.
``direction_identity(src, tgt) -> dict``
    What decides the outputs of one direction beyond ``identity()`` (an LLM's rendered prompt for that
    language pair): the cache keys that direction on both. Default: nothing, one key for all pairs.
``translate_raw(texts, src, tgt)`` and ``finish(texts, raw, src, tgt)``
    A backend whose answers are post-processed (an LLM's output cleanup) returns the raw answers from
    ``translate_raw`` and turns them into outputs in ``finish``: the cache stores the raw answers and
    finishes them on every lookup, so the raw text survives a rerun. Default: ``translate`` only.
``output_notes(texts, src, tgt) -> (fields, summaries)``
    Per-segment fields for segments.jsonl (e.g. ``raw``, ``cleanup``) and per-direction summaries for
    scores.json (e.g. ``llm_cleanup``) about the last outputs of these texts. Default: none.
``prepare(texts, src, tgt) -> None``
    Get ready to translate these texts src-tgt (load the checkpoint, convert it for CTranslate2), so
    the runner can time loading apart from translating: scores.json reports ``load_s`` beside
    ``sentences_per_s``, which then counts translation only. ``texts`` are the segments that will
    follow; the translation cache uses them to prepare its backend only when some are missing, so a
    fully cached rerun never loads a model. Default: nothing to prepare (loading, if any, happens
    inside the first ``translate``).
``set_progress(callback) -> None``
    ``callback(n)`` is to be called whenever n more of the texts of the current ``translate`` call
    are done (after each decoded batch), so a progress bar moves within a long call; None stops the
    reports. Reporting never changes which segments are batched together. A backend that does not
    report leaves the bar to move once per call (the runner tops it up after each call anyway).
    TranslatorBase stores the callback; a backend calls ``self.report_progress(n)``.
``set_answer_sink(sink) -> None``
    For a backend that finishes segments one at a time within a call (openai: one request per
    segment): ``sink(done)`` receives ``{source: raw answer}`` for finished segments while the call
    still runs, so the translation cache commits them and a killed run loses about a second of
    answers, not the whole chunk; None stops it. Default: answers arrive when the call returns.
``close() -> None``
    Stop what the backend keeps running between calls (Apertium's processes, a subprocess pipe).
    ``mtharness run`` closes its translator before the command returns, so a Ctrl-C while they stop
    is the run's own one-line interruption, not a traceback at interpreter exit. Default: nothing.

Every hook above is named in ``HOOKS``; tests/architecture/test_encapsulation.py derives the names it
guards from that tuple, so a hook used anywhere must be declared here first.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

from mtharness.core import CacheCounts, MtharnessError

#: The optional capabilities, declared once (each is described in the module docstring and asked
#: for only through the functions at the end of this module).
HOOKS: tuple[str, ...] = (
    "check_direction",
    "run_info",
    "cache_counts",
    "cacheable",
    "context_free",
    "batch_keyed",
    "direction_identity",
    "translate_raw",
    "finish",
    "output_notes",
    "prepare",
    "set_progress",
    "set_answer_sink",
    "close",
)


@runtime_checkable
class Translator(Protocol):
    """Batch in, batch out: ``translate`` returns one output per input, in the same order.

    ``identity()`` names everything that decides the outputs (backend, model ids, revisions,
    decoding settings, backend version): the translation cache keys on it. The optional hooks
    are listed in this module's docstring and implemented with defaults by TranslatorBase.
    """

    name: str

    def translate(self, texts: Sequence[str], src: str, tgt: str) -> list[str]: ...

    def identity(self) -> dict[str, Any]: ...


class TranslatorBase:
    """A translator's optional capabilities with their defaults; backends subclass it and override.

    Subclasses set ``name`` and implement ``translate`` and ``identity`` (see the module docstring).
    """

    name: str = "translator"
    cacheable: bool = True
    context_free: bool = True
    batch_keyed: bool = False

    def translate(self, texts: Sequence[str], src: str, tgt: str) -> list[str]:
        raise NotImplementedError(f"{type(self).__name__}.translate")

    def identity(self) -> dict[str, Any]:
        raise NotImplementedError(f"{type(self).__name__}.identity")

    def check_direction(self, src: str, tgt: str) -> None:
        """Accept every pair; override to fail early on one the backend cannot translate."""

    def run_info(self) -> dict[str, Any]:
        """Nothing to record by default."""
        return {}

    def cache_counts(self) -> dict[str, CacheCounts]:
        """No cache, nothing counted, by default."""
        return {}

    def prepare(self, texts: Sequence[str], src: str, tgt: str) -> None:
        """Nothing to load up front by default."""

    _on_progress: Callable[[int], None] | None = None

    def set_progress(self, callback: Callable[[int], None] | None) -> None:
        """Remember whom to tell about finished segments (see report_progress)."""
        self._on_progress = callback

    def set_answer_sink(self, sink: Callable[[dict[str, str]], None] | None) -> None:
        """Answers arrive when translate returns by default: nothing to hand over early."""

    def report_progress(self, n: int) -> None:
        """For subclasses: n more segments of the current call are done (after a batch)."""
        if self._on_progress is not None and n > 0:
            self._on_progress(n)

    def report_status(self, text: str) -> None:
        """For subclasses: a short note the progress bar shows beside its count (retries, waits);
        the bar's callback carries it as its ``status`` attribute, when it has one."""
        status = getattr(self._on_progress, "status", None)
        if callable(status):
            status(text)


# The only place that asks a translator about its optional capabilities: a backend that follows the
# protocol without subclassing TranslatorBase gets TranslatorBase's defaults.


def check_direction(translator: Translator, src: str, tgt: str) -> None:
    """Let the translator refuse a pair it cannot translate, before any work starts."""
    hook = getattr(translator, "check_direction", None)
    if callable(hook):
        hook(src, tgt)


def run_info(translator: Translator) -> dict[str, Any]:
    """The translator's notes for scores.json (``{}`` when it has none)."""
    hook = getattr(translator, "run_info", None)
    return dict(hook() or {}) if callable(hook) else {}


def translation_cache_counts(translator: Translator) -> dict[str, CacheCounts]:
    """The translation cache's hits and misses per language pair (``{}`` when it is not cached)."""
    hook = getattr(translator, "cache_counts", None)
    return dict(hook() or {}) if callable(hook) else {}


def is_cacheable(translator: Translator) -> bool:
    """Its outputs may go into the translation cache: cacheable, and context-free or batch-keyed."""
    keyed = bool(getattr(translator, "batch_keyed", False))
    return bool(getattr(translator, "cacheable", True)) and (is_context_free(translator) or keyed)


def is_context_free(translator: Translator) -> bool:
    """A segment's output never depends on the other segments in the call."""
    return bool(getattr(translator, "context_free", True))


def check_outputs(name: str, texts: Sequence[str], outputs: Sequence[str]) -> list[str]:
    """Raise unless a backend returned exactly one string per input."""
    if len(outputs) != len(texts):
        raise MtharnessError(
            f"translator {name!r} returned {len(outputs)} outputs for {len(texts)} inputs; "
            "segment alignment would be lost"
        )
    return list(outputs)


def direction_identity(translator: Translator, src: str, tgt: str) -> dict[str, Any]:
    """The per-direction part of the identity ({} for backends without one)."""
    hook = getattr(translator, "direction_identity", None)
    return dict(hook(src, tgt)) if callable(hook) else {}


def has_direction_identity(translator: Translator) -> bool:
    return callable(getattr(translator, "direction_identity", None))


def raw_outputs(translator: Translator) -> bool:
    """True when the backend separates raw answers (translate_raw) from their finishing (finish)."""
    return callable(getattr(translator, "translate_raw", None)) and callable(
        getattr(translator, "finish", None)
    )


def output_notes(
    translator: Translator, texts: Sequence[str], src: str, tgt: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The backend's per-segment fields and per-direction summaries ({} and {} without the hook)."""
    hook = getattr(translator, "output_notes", None)
    return hook(texts, src, tgt) if callable(hook) else ({}, {})


class SegmentFailed(MtharnessError):
    """A backend gave up on one segment (e.g. an HTTP request that still failed after its retries).

    ``text`` is the failing source segment; ``done`` maps the sources that did finish in the same
    call to their outputs, so the translation cache can keep them and a rerun resumes; the runner
    turns ``text`` into the segment id of its one-line error.
    """

    def __init__(self, backend: str, reason: str, text: str, done: dict[str, str] | None = None) -> None:
        self.backend = backend
        self.reason = reason
        self.text = text
        self.done = dict(done or {})
        super().__init__(f"{backend}: a segment failed ({text[:40]!r}): {reason}")

    def at(self, where: str) -> MtharnessError:
        """The same failure named by its place in the test set (segment id and direction)."""
        return MtharnessError(f"{self.backend}: {where} failed: {self.reason}")


def prepare(translator: Translator, texts: Sequence[str], src: str, tgt: str) -> None:
    """Let the translator load what translating these texts src-tgt needs, before the clock starts."""
    hook = getattr(translator, "prepare", None)
    if callable(hook) and texts:
        hook(texts, src, tgt)


def set_progress(translator: Translator, callback: Callable[[int], None] | None) -> None:
    """Ask the translator to call ``callback(n)`` as segments finish (no-op for backends without it)."""
    hook = getattr(translator, "set_progress", None)
    if callable(hook):
        hook(callback)


def set_answer_sink(translator: Translator, sink: Callable[[dict[str, str]], None] | None) -> None:
    """Ask the translator to hand finished raw answers to ``sink`` while a call still runs (no-op
    for backends that answer a whole call at once)."""
    hook = getattr(translator, "set_answer_sink", None)
    if callable(hook):
        hook(sink)


def close_translator(translator: Translator) -> None:
    """Stop the translator's running parts (no-op for backends that keep nothing running)."""
    hook = getattr(translator, "close", None)
    if callable(hook):
        hook()
