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
