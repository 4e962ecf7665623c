"""Cleanup of LLM outputs: what chat models wrap around a translation, taken off before scoring.

Instruct models answer "Sure! Here is the translation:", wrap the answer in quotes or a code fence,
add "Note: ..." after it, or go on with more lines. Scored as is, that chatter counts as
translation errors of the system, which is not what an MT comparison wants to measure; silently
removed, it would hide how often a model does it. So ``clean`` removes it, says what it removed,
and the raw output stays beside the cleaned one (segments.jsonl) with counts in scores.json.

A refusal ("I'm sorry, but I can't translate that") is detected and flagged, not replaced: the
refusal text is the system's output and scores as such.

``CLEANUP_VERSION`` is part of every LLM translator's identity: changing these rules changes the
cache key, so old cleaned outputs never mix with new ones.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from mtharness.translators.prompts import LANGUAGE_NAMES

CLEANUP_VERSION = 1

_LANGS = "|".join(sorted({re.escape(n) for n in LANGUAGE_NAMES.values()}, key=len, reverse=True))
_B = r"\**"  # markdown bold around a label: **Translation:**
_LEAD = r"(?:(?:sure|certainly|of course|okay|ok|absolutely|here you go)\b[!.,]*\s*)"
_PREAMBLE = re.compile(
    rf"^{_B}{_LEAD}?(?:"
    r"here(?:'s| is| are)\b[^\n:]{0,80}"  # Here is the translation (into Spanish):
    r"|(?:the |a |my )?(?:\w+ )?translation\b[^\n:]{0,60}"  # Translation: / Spanish translation is:
    r"|(?:translated|in (?:" + _LANGS + r"))\b[^\n:]{0,40}"  # Translated text: / In German:
    rf"|(?:{_LANGS})(?: text| version)?"  # German: (the template's own label, repeated)
    rf"){_B}\s*:{_B}[ \t]*",
    re.IGNORECASE,
)
_LEAD_ONLY = re.compile(rf"^{_LEAD}$", re.IGNORECASE)  # a line that is only "Sure!"
_FENCE = re.compile(r"```[\w+-]*[ \t]*\n?(.*?)\n?[ \t]*```", re.DOTALL)
_EXPLANATION_LINE = re.compile(
    r"^[(\[*]*\s*(?:note|notes|explanation|translator'?s note|literal(?:ly| translation)|"
    r"this (?:translation|sentence|text|is a)|i (?:translated|have translated|kept|used)|"
    r"(?:the )?(?:original|source) (?:text|sentence)|alternatively|alternative(?: translation)?)\b",
    re.IGNORECASE,
)
# the same on one line, after the translation: "Hola. (Note: informal)" or "Hola. Note: informal"
_TRAILING_NOTE = re.compile(
    r"(?<=\S)\s*(?:\((?:note|this translation|literally|translation|translated|lit\.)\b[^()]*\)"
    r"|(?<=[.!?…。»”\"'])\s+(?:note|explanation)\s*:.*)\s*$",
    re.IGNORECASE,
)
_REFUSAL = re.compile(
    r"^(?:(?:i'?m|i am) sorry|sorry|i apologi[sz]e|unfortunately)\b.{0,60}?"
    r"\b(?:can(?:no|')t|unable|not able|won'?t|will not|do not|don'?t)\b.{0,40}?"
    r"\b(?:translat|help|assist|provide|comply|fulfil|do that|process)"
    r"|^i (?:can(?:no|')t|am unable to|'m unable to|am not able to|won'?t|will not)\s+"
    r"(?:translate|help|assist|provide|comply|fulfil|do that)"
    r"|^as an ai\b",
    re.IGNORECASE | re.DOTALL,
)
_QUOTES = {
    '"': '"',
    "'": "'",
    "“": "”",
    "”": "”",
    "„": "“",
    "«": "»",
    "»": "«",
    "‘": "’",
    "「": "」",
    "『": "』",
}


@dataclass(frozen=True)
class Cleaned:
    """A cleaned output, what was removed (``actions``) and the flags that get counted."""

    text: str
    actions: tuple[str, ...] = ()
    refused: bool = False

    @property
    def cleaned(self) -> bool:
        """True when more than surrounding whitespace was removed."""
        return bool(self.actions)

    @property
    def empty(self) -> bool:
        return not self.text

    def flags(self) -> list[str]:
        """Per-segment note for segments.jsonl: the removals, plus "empty"/"refused"."""
        return [*self.actions, *(["empty"] if self.empty else []), *(["refused"] if self.refused else [])]


def is_refusal(text: str) -> bool:
    return bool(_REFUSAL.match(text.strip().lstrip("*\"'“ ")))


def _strip_fence(text: str) -> str:
    match = _FENCE.search(text)
    if match and match.group(1).strip():
        return match.group(1).strip()
    return text.strip("`").strip() if text.startswith("```") or text.endswith("```") else text


def _strip_preamble(text: str) -> str:
    for _ in range(3):  # "Sure!\nHere is the translation:\nSpanish: Hola" peels in steps
        lines = text.split("\n", 1)
        if _LEAD_ONLY.match(lines[0].strip()) and len(lines) > 1:
            text = lines[1].lstrip()
            continue
        match = _PREAMBLE.match(text)
        if not match:
            break
        rest = text[match.end() :].lstrip()
        if not rest:
            break  # "Translation:" and nothing else: leave it, it will count as what it is
        text = rest
    return text


def _strip_explanations(text: str) -> str:
    lines = text.split("\n")
    for i, line in enumerate(lines[1:], start=1):
        if _EXPLANATION_LINE.match(line.strip()):
            return "\n".join(lines[:i]).rstrip()
    return text


def _strip_quotes(text: str, source: str | None) -> str:
    src = (source or "").strip()
    for _ in range(2):
        if len(text) < 2 or _QUOTES.get(text[0]) != text[-1]:
            break
        if src and _QUOTES.get(src[0]) == src[-1]:
            break  # the source is quoted itself: the quotes are part of the translation
        inner = text[1:-1]
        if text[0] in inner or text[-1] in inner:
            break  # '"A" and "B"' is not one wrapped string
        text = inner.strip()
    return text


def clean(raw: str, sentence_level: bool, source: str | None = None) -> Cleaned:
    """The translation inside an LLM answer. ``sentence_level``: keep only its first non-empty line.

    ``source`` (optional) guards against removing what the source itself has: surrounding quotes,
    or a refusal-like sentence that is simply being translated.
    """
    actions: list[str] = []
    text = raw.strip()
    refused = is_refusal(text) and not (source is not None and is_refusal(source))
    steps = (
        ("code_fence", _strip_fence),
        ("preamble", _strip_preamble),
        ("explanation", _strip_explanations),
    )
    for name, step in steps:
        new = step(text).strip()
        if new != text:
            actions.append(name)
            text = new
    if sentence_level and "\n" in text:
        text = next((line.strip() for line in text.split("\n") if line.strip()), "")
        actions.append("extra_lines")
    new = _TRAILING_NOTE.sub("", text).strip()
    if new != text:
        actions.append("explanation" if "explanation" not in actions else "note")
        text = new
    new = _strip_quotes(text, source)
    if new != text:
        actions.append("quotes")
        text = new
    return Cleaned(text, tuple(dict.fromkeys(actions)), refused)


def counts(results: Iterable[Cleaned]) -> dict[str, int]:
    """{segments, cleaned, empty, refused} over some cleaned outputs (scores.json ``llm_cleanup``)."""
    out = {"segments": 0, "cleaned": 0, "empty": 0, "refused": 0}
    for result in results:
        out["segments"] += 1
        out["cleaned"] += result.cleaned
        out["empty"] += result.empty
        out["refused"] += result.refused
    return out
