"""Identity translator: returns its input. For wiring tests, and to show what copying looks like."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mtharness.translators.base import TranslatorBase


class EchoTranslator(TranslatorBase):
    context_free = True

    def __init__(self, name: str = "echo") -> None:
        self.name = name

    def translate(self, texts: Sequence[str], src: str, tgt: str) -> list[str]:
        return list(texts)

    def identity(self) -> dict[str, Any]:
        return {"backend": "echo"}
