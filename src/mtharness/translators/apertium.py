"""Apertium, Debian's rule-based MT engine, run as a subprocess (argv list, text on stdin, no shell)."""

from __future__ import annotations

import re
import shutil
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

from mtharness.core import MtharnessError
from mtharness.translators.apertium_pipeline import Pipeline, escape, flatten, load_pipeline, unescape
from mtharness.translators.apertium_stream import StreamChain
from mtharness.translators.apertium_tagger import IsolatedTagger
from mtharness.translators.base import TranslatorBase, check_outputs

# ISO 639-1 (and a few 639-3) codes -> the codes Apertium's modes use, most likely first
ISO_TO_APERTIUM: dict[str, tuple[str, ...]] = {
    "en": ("eng", "en"),
    "es": ("spa", "es"),
    "ca": ("cat", "ca"),
    "gl": ("glg", "gl"),
    "eo": ("epo", "eo"),
    "eu": ("eus", "eu"),
    "is": ("isl", "is"),
    "mk": ("mkd", "mk"),
    "sh": ("hbs", "sh"),
    "hbs": ("hbs",),
    "fr": ("fra", "fr"),
    "pt": ("por", "pt"),
    "it": ("ita", "it"),
    "oc": ("oci", "oc"),
    "ro": ("ron", "ro"),
    "de": ("deu", "de"),
    "nl": ("nld", "nl"),
    "sv": ("swe", "sv"),
    "da": ("dan", "da"),
    "nb": ("nob", "nb"),
    "nn": ("nno", "nn"),
}
_SPACES = re.compile(r"\s+")


def apertium_codes(lang: str) -> tuple[str, ...]:
    return ISO_TO_APERTIUM.get(lang, (lang,))


@cache
def installed_modes(binary: str = "apertium") -> tuple[str, ...]:
    """Modes Apertium reports with ``apertium -l`` (e.g. eng-spa, spa-eng)."""
    exe = shutil.which(binary)
    if exe is None:
        raise MtharnessError(
            f"Apertium binary {binary!r} not found on PATH; install it: apt-get install apertium apertium-eng-spa"
        )
    proc = subprocess.run([exe, "-l"], capture_output=True, text=True, check=False)
    return tuple(sorted({line.strip() for line in proc.stdout.splitlines() if line.strip()}))


def resolve_mode(src: str, tgt: str, modes: Sequence[str], overrides: Mapping[str, str] | None = None) -> str:
    """Map an ISO pair (en, es) to an installed Apertium mode (eng-spa)."""
    key = f"{src}-{tgt}"
    if overrides and key in overrides:
        return overrides[key]
    for a in apertium_codes(src):
        for b in apertium_codes(tgt):
            if f"{a}-{b}" in modes:
                return f"{a}-{b}"
    a, b = apertium_codes(src)[0], apertium_codes(tgt)[0]
    raise MtharnessError(
        f"Apertium has no {key} mode installed (looked for {a}-{b}); install the pair, e.g. "
        f"apt-get install apertium-{a}-{b} (or apertium-{b}-{a}; apt-cache search apertium lists them)"
    )


class ApertiumTranslator(TranslatorBase):
    """Apertium run stage by stage (apertium_pipeline): each segment translated as it would be alone.

    One output line per input line, whitespace normalised. ``context_free``: a segment's output
    never depends on the other segments of a call, its order, or the call's size (verified on
    every installed mode; tests/translators/test_apertium_isolation.py).
    """

    context_free = True
    #: how segments are kept apart; part of identity(), so caches of the old leaking method never mix
    # v2: trailing stream characters kept aside; v3: also a trailing non-word run that holds a "^"
    ISOLATION = "stages-z+fresh-hmm-tagger-v3"

    def __init__(
        self,
        name: str = "apertium",
        binary: str = "apertium",
        mark_unknown: bool = False,
        modes: Mapping[str, str] | None = None,
        timeout_s: float = 600.0,
    ) -> None:
        self.name = name
        self.binary = binary
        self.mark_unknown = mark_unknown
        self.mode_overrides = dict(modes or {})
        self.timeout_s = timeout_s
        self._pipelines: dict[str, Pipeline] = {}
        # per mode, kept running across calls (issue 28): stages before the tagger, the tagger, after it
        self._running: dict[str, tuple[StreamChain, IsolatedTagger | None, StreamChain]] = {}
        self._lock = threading.Lock()

    @property
    def tagger_starts(self) -> int:
        """apertium-tagger processes started so far (a fresh one for each segment that needs it)."""
        return sum(t.starts for _, t, _ in self._running.values() if t is not None)

    def close(self) -> None:
        """Stop the mode's processes (they also stop when the translator is collected or Python exits)."""
        with self._lock:
            for head, tagger, tail in self._running.values():
                for part in (head, tagger, tail):
                    if part is not None:
                        part.close()

    def mode(self, src: str, tgt: str) -> str:
        return resolve_mode(src, tgt, installed_modes(self.binary), self.mode_overrides)

    def pipeline(self, mode: str) -> Pipeline:
        if mode not in self._pipelines:
            self._pipelines[mode] = load_pipeline(mode, self.mark_unknown, self.binary)
        return self._pipelines[mode]

    def translate(self, texts: Sequence[str], src: str, tgt: str) -> list[str]:
        if not texts:
            return []
        pipeline = self.pipeline(self.mode(src, tgt))
        # What follows a segment's last word is blank text that Apertium copies through, except that
        # an escaped "^" there makes its transfer stages drop the segment's \0 boundary (the chain then
        # waits for a boundary that never comes): that tail is kept aside and put back afterwards
        cuts = [_tail_start(t) for t in texts]
        cores = [t[:cut] for t, cut in zip(texts, cuts, strict=True)]
        blocks = [escape(t) for t in cores]
        todo = [i for i, b in enumerate(blocks) if b]  # an empty segment translates to ""
        done: dict[int, str] = {}
        if todo:
            # a final blank ends the last word (without it lt-proc drops a closing ".")
            payload = [blocks[i].encode("utf-8", "replace") + b"\n" for i in todo]
            done = dict(zip(todo, self._run(pipeline, payload), strict=True))
        outputs = [
            _SPACES.sub(" ", done.get(i, "") + flatten(t[cut:])).strip()
            for i, (t, cut) in enumerate(zip(texts, cuts, strict=True))
        ]
        return check_outputs(self.name, texts, outputs)

    def _run(self, pipeline: Pipeline, blocks: list[bytes]) -> list[str]:
        """Stages before the tagger and after it streamed; the tagger isolated per segment."""
        deadline = time.monotonic() + self.timeout_s
        with self._lock:
            if pipeline.mode not in self._running:
                tagger = IsolatedTagger(pipeline.mode, pipeline.tagger) if pipeline.tagger else None
                head, tail = (
                    StreamChain(pipeline.mode, pipeline.head),
                    StreamChain(pipeline.mode, pipeline.tail),
                )
                self._running[pipeline.mode] = (head, tagger, tail)
            head, tagger, tail = self._running[pipeline.mode]
            analysed = head.run(blocks, deadline)
            if tagger is not None:
                analysed = tagger.tag(analysed, deadline)
            final = tail.run(analysed, deadline)
        return [unescape(b.decode("utf-8", "replace")) for b in final]

    def identity(self) -> dict[str, Any]:
        return {
            "backend": "apertium",
            "mark_unknown": self.mark_unknown,
            "modes": self.mode_overrides,
            "version": apertium_version(self.binary),
            "isolation": self.ISOLATION,
        }


_TRAILING_STREAM_CHARS = re.compile(r"[\s\\^$\[\]/<>@*#{}]+$")


def _tail_start(text: str) -> int:
    """Where the tail that bypasses Apertium starts (len(text): none).

    Trailing stream characters and blanks always; and the whole run after the last letter or digit
    when it holds a "^": lt-proc leaves symbols it has no entry for ("%", "_", emoji, unassigned code
    points) in the blank, and a "^" in the segment's last blank loses its boundary in transfer.
    """
    m = _TRAILING_STREAM_CHARS.search(text)
    start = m.start() if m else len(text)
    word_end = len(text)
    while word_end > 0 and not text[word_end - 1].isalnum():
        word_end -= 1
    if "^" in text[word_end:]:
        start = min(start, word_end)
    return start


@cache
def apertium_version(binary: str = "apertium") -> str:
    """Installed package versions decide the outputs; they key the translation cache."""
    dpkg = shutil.which("dpkg-query")
    if dpkg is None:
        return "unknown"
    proc = subprocess.run(
        [dpkg, "-W", "-f=${Package}=${Version}\\n", "apertium*"], capture_output=True, text=True, check=False
    )
    return ",".join(sorted(line for line in proc.stdout.split() if line and not line.endswith("=")))
