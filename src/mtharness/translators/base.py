"""The Translator protocol every backend implements."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from mtharness.core import MtharnessError


@runtime_checkable
class Translator(Protocol):
    """Batch in, batch out: ``translate`` returns one output per input, in the same order.

    ``identity()`` names everything that decides the outputs (backend, model ids, revisions,
    decoding settings, backend version): the translation cache keys on it.
    """

    name: str

    def translate(self, texts: Sequence[str], src: str, tgt: str) -> list[str]: ...

    def identity(self) -> dict[str, Any]: ...


def check_outputs(name: str, texts: Sequence[str], outputs: Sequence[str]) -> list[str]:
    """Raise unless a backend returned exactly one string per input."""
    if len(outputs) != len(texts):
        raise MtharnessError(
            f"translator {name!r} returned {len(outputs)} outputs for {len(texts)} inputs; "
            "segment alignment would be lost"
        )
    return list(outputs)


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
