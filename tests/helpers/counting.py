"""Real translators that log every translate() call: lets subprocess tests count model calls."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mtharness.translators.apertium import ApertiumTranslator
from mtharness.translators.echo import EchoTranslator


def log_call(calls_log: Path, src: str, tgt: str, n: int) -> None:
    with calls_log.open("a", encoding="utf-8") as log:
        log.write(json.dumps({"pair": f"{src}-{tgt}", "n": n}) + "\n")


class CountingApertium(ApertiumTranslator):
    """Apertium, plus one JSON line per call in ``calls_log``; identity unchanged, so caches are shared."""

    def __init__(self, calls_log: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.calls_log = Path(calls_log)

    def translate(self, texts: Sequence[str], src: str, tgt: str) -> list[str]:
        log_call(self.calls_log, src, tgt, len(texts))
        return super().translate(texts, src, tgt)


class CountingEcho(EchoTranslator):
    """Echo, plus one JSON line per call in ``calls_log``; identity unchanged (a context-free translator)."""

    def __init__(self, calls_log: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.calls_log = Path(calls_log)

    def translate(self, texts: Sequence[str], src: str, tgt: str) -> list[str]:
        log_call(self.calls_log, src, tgt, len(texts))
        return super().translate(texts, src, tgt)


def read_calls(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
