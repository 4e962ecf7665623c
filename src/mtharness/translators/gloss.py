"""Word-by-word glossing with a Ding-format bilingual dictionary (Debian: apt-get install trans-de-en).

Not machine translation: each word is replaced by its first dictionary sense, in source word order.
It exists for one job: a real, deterministic, offline back-translator for pairs no MT engine here
covers (German -> English; Apertium has no German). A better forward translation glosses back into
more of the original's words, which is what an RTT-vs-forward study with a fixed back-translator needs.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

from mtharness.core import MtharnessError
from mtharness.translators.base import TranslatorBase

DEFAULT_DICTIONARIES = {("de", "en"): "/usr/share/trans/de-en"}
_NOTES = re.compile(r"\{[^}]*\}|\[[^\]]*\]|\([^)]*\)|<[^>]*>")
_TOKEN = re.compile(r"\w+(?:[-'’]\w+)*|[^\w\s]", re.UNICODE)
_NO_SPACE_BEFORE = set(".,;:!?)]}%»“'’")


# German function words whose first Ding sense is a rare one ("die" -> "that"); our own short list
FUNCTION_WORDS = {
    ("de", "en"): {
        **dict.fromkeys(["der", "die", "das", "dem", "den", "des"], "the"),
        **dict.fromkeys(["ein", "eine", "einem", "einen", "einer", "eines"], "a"),
        "im": "in the",
        "am": "at the",
        "zum": "to the",
        "zur": "to the",
        "vom": "from the",
        "ist": "is",
        "sind": "are",
        "war": "was",
        "waren": "were",
        "wurde": "was",
        "wurden": "were",
        "hat": "has",
        "haben": "have",
        "hatte": "had",
        "wird": "will",
        "werden": "will",
        "und": "and",
        "oder": "or",
        "nicht": "not",
        "auch": "also",
        "mit": "with",
        "von": "of",
        "für": "for",
        "auf": "on",
        "zu": "to",
        "bei": "at",
        "nach": "after",
        "sich": "itself",
        "er": "he",
        "sie": "she",
        "es": "it",
        "wir": "we",
        "ich": "I",
        "dass": "that",
    }
}


def _clean(text: str) -> str:
    return " ".join(_NOTES.sub(" ", text).split())


@cache
def load_ding(path: str) -> dict[str, str]:
    """Source word -> first target sense, from single-word entries of a Ding file (src :: tgt)."""
    p = Path(path)
    if not p.is_file():
        raise MtharnessError(
            f"gloss dictionary {p} not found; install it (apt-get install trans-de-en) or set translator.dictionary"
        )
    table: dict[str, str] = {}
    with p.open(encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if line.startswith("#") or " :: " not in line:
                continue
            left, right = line.rstrip("\n").split(" :: ", 1)
            # sections " | " pair up inflected forms on both sides (gehen | gegangen :: to go | gone)
            for src_part, tgt_part in zip(left.split(" | "), right.split(" | "), strict=False):
                sense = _clean(tgt_part.split(";")[0])
                sense = sense[3:] if sense.startswith("to ") else sense
                if not sense:
                    continue
                for alt in src_part.split(";"):
                    word = _clean(alt)
                    if word and " " not in word and word not in table:
                        table[word] = sense
    return table


def detokenize(tokens: Sequence[str]) -> str:
    out = ""
    for tok in tokens:
        glue = not out or tok in _NO_SPACE_BEFORE or out.endswith(("(", "[", "„", "«", "“"))
        out += tok if glue else " " + tok
    return out


class GlossTranslator(TranslatorBase):
    """Dictionary glossing; unknown words are copied (names, numbers)."""

    context_free = True  # word by word, within one segment

    def __init__(self, name: str = "gloss", dictionary: str | None = None) -> None:
        self.name = name
        self.dictionary = dictionary

    def _path(self, src: str, tgt: str) -> str:
        if self.dictionary:
            return self.dictionary
        if (src, tgt) not in DEFAULT_DICTIONARIES:
            raise MtharnessError(
                f"gloss: no dictionary for {src}-{tgt}; known: {sorted(DEFAULT_DICTIONARIES)} "
                "(or set translator.dictionary to a Ding-format file)"
            )
        return DEFAULT_DICTIONARIES[(src, tgt)]

    def translate(self, texts: Sequence[str], src: str, tgt: str) -> list[str]:
        table = {**load_ding(self._path(src, tgt)), **FUNCTION_WORDS.get((src, tgt), {})}
        out = []
        for text in texts:
            words = []
            for tok in _TOKEN.findall(text):
                sense = table.get(tok) or table.get(tok.lower()) or table.get(tok.capitalize())
                words.append(sense or tok)
            out.append(detokenize(words))
        return out

    def identity(self) -> dict[str, Any]:
        return {"backend": "gloss", "dictionary": self.dictionary or "default"}
