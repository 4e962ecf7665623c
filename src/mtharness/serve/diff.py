"""The segments view's word diff between two systems' outputs (``word_diff``; also importable from
serve.segments)."""

from __future__ import annotations

import difflib
import re

_TOKEN = re.compile(r"\s+|\w+|[^\w\s]", re.UNICODE)


def word_diff(a: str, b: str) -> list[tuple[str, str]]:
    """(op, text) pieces turning ``a`` into ``b``, op ``equal`` | ``delete`` (only in a) | ``insert``
    (only in b), by words (whitespace and punctuation are tokens of their own). Joining the equal and
    delete texts gives ``a`` back; joining equal and insert gives ``b``."""
    ta, tb = _TOKEN.findall(a), _TOKEN.findall(b)
    out: list[tuple[str, str]] = []

    def emit(op: str, tokens: list[str]) -> None:
        text = "".join(tokens)
        if not text:
            return
        if out and out[-1][0] == op:
            out[-1] = (op, out[-1][1] + text)
        else:
            out.append((op, text))

    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, ta, tb, autojunk=False).get_opcodes():
        if tag == "equal":
            emit("equal", ta[i1:i2])
        else:
            emit("delete", ta[i1:i2])
            emit("insert", tb[j1:j2])
    return out
