"""Precomputed outputs of an external system: any system can be compared without running it here.

``forward`` holds the system's output for the test set, line for line; ``back`` (optional) its
translation of ``forward`` back into the source language. Outputs are handed out by position: the
runner asks for the test set in order, in chunks, so a run over the whole set (or its first
``limit`` lines) reproduces the files line for line, even where the source repeats a line that the
system translated differently. With ``source`` set, every chunk is checked against it, so a file
that belongs to another test set fails instead of being scored against the wrong references.
Without ``back``, a ``fallback`` translator (any backend) can take the way back, so a system known
only by its output file is still round-tripped through a real engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mtharness.core import MtharnessError
from mtharness.textio import check_same_length, read_lines
from mtharness.translators.base import Translator, TranslatorBase


class _Stream:
    """Input lines (None: unchecked) and the output lines they map to, handed out in order."""

    def __init__(self, inputs: list[str] | None, outputs: list[str], label: str) -> None:
        self.inputs, self.outputs, self.label = inputs, outputs, label
        self.cursor = 0

    def take(self, texts: Sequence[str]) -> list[str]:
        n = len(texts)
        if self.inputs is None or self.inputs[self.cursor : self.cursor + n] != list(texts):
            start = self._locate(texts)
        else:
            start = self.cursor
        if start + n > len(self.outputs):
            raise MtharnessError(
                f"{self.label} has {len(self.outputs)} lines but segments {start + 1}-{start + n} were asked "
                "for: the test set is longer than the system's output file (line counts must match)"
            )
        self.cursor = start + n
        return self.outputs[start : start + n]

    def _locate(self, texts: Sequence[str]) -> int:
        if self.inputs is None:
            return self.cursor
        if self.inputs[: len(texts)] == list(texts):  # a new pass from the top (another run, a limit)
            return 0
        first = next((i for i, line in enumerate(self.inputs) if line == texts[0]), None)
        where = "is not" if first is None else f"(line {first + 1}) does not start a matching run"
        raise MtharnessError(
            f"{self.label}: segment {texts[0][:60]!r} {where} in the file the outputs are aligned with; "
            "does the test set match translator.source (same file, same order)?"
        )


class FilesTranslator(TranslatorBase):
    """Reads outputs from files instead of translating; never cached (nothing to save).

    Outputs are handed out by position in the file, so they depend on where a call starts: not
    context-free.
    """

    cacheable = False
    context_free = False

    def __init__(
        self,
        name: str = "files",
        forward: str | None = None,
        back: str | None = None,
        source: str | None = None,
        src_lang: str | None = None,
        tgt_lang: str | None = None,
        fallback: Translator | None = None,
    ) -> None:
        self.name = name
        self.fallback = fallback
        self.forward = forward
        self.back = back
        self.source = source
        self.pair = (src_lang, tgt_lang) if src_lang and tgt_lang else None
        self._streams: dict[str, _Stream] | None = None

    def _load(self) -> dict[str, _Stream]:
        if self._streams is not None:
            return self._streams
        if not self.forward:
            raise MtharnessError(
                "translator.forward is not set: give the system's output file, e.g. "
                "translator=files translator.forward=systems/ONLINE-W.de"
            )
        fwd = read_lines(self.forward, "translator.forward file")
        src = None
        if self.source:
            src = read_lines(self.source, "translator.source file")
            check_same_length(src, self.source, fwd, self.forward)
        streams = {"forward": _Stream(src, fwd, f"translator.forward {self.forward}")}
        if self.back:
            back = read_lines(self.back, "translator.back file")
            check_same_length(fwd, self.forward, back, self.back)
            streams["back"] = _Stream(fwd, back, f"translator.back {self.back}")
        self._streams = streams
        return streams

    def translate(self, texts: Sequence[str], src: str, tgt: str) -> list[str]:
        streams = self._load()
        if self.pair is None:  # the runner asks for the forward direction first
            self.pair = (src, tgt)
        if (src, tgt) == self.pair:
            return streams["forward"].take(texts)
        if (tgt, src) != self.pair:
            raise MtharnessError(
                f"translator {self.name!r} holds outputs for {self.pair[0]}-{self.pair[1]}, not {src}-{tgt}"
            )
        if "back" not in streams and self.fallback is not None:
            return self.fallback.translate(texts, src, tgt)
        if "back" not in streams:
            raise MtharnessError(
                f"translator.back is not set: no {src}-{tgt} outputs for the round trip; give the back "
                "file (translator.back=...), a translator.fallback, or run forward only (round_trip=false)"
            )
        return streams["back"].take(texts)

    def identity(self) -> dict[str, Any]:
        return {
            "backend": "files",
            "forward": _describe(self.forward),
            "back": _describe(self.back),
            "source": _describe(self.source),
            "fallback": {"name": self.fallback.name, **self.fallback.identity()} if self.fallback else None,
        }


def _describe(path: str | None) -> dict[str, Any] | None:
    if not path:
        return None
    import hashlib

    p = Path(path)
    digest = hashlib.sha256(p.read_bytes()).hexdigest()[:16] if p.is_file() else None
    return {"path": str(p), "sha256": digest}
