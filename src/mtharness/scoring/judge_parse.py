"""Reading LLM judges' answers: MQM error annotations and direct-assessment scores.

An MQM judge lists the errors it sees in a translation. Two answer layouts are read, whatever our own
prompt asked for, because judges fine-tuned on GEMBA-MQM answer in its layout:

- GEMBA-MQM's: severity headers (``Critical:``, ``Major:``, ``Minor:``), each followed by lines
  ``category/subcategory - "span text"`` or ``no-error``;
- JSON: ``{"errors": [{"span": ..., "category": ..., "severity": ...}]}``, bare or in a code fence.

A segment's MQM score is minus the weighted sum of its errors (minor 1, major 5, critical 25; an error
of the non-translation category weighs 25 whatever its severity), so 0 is a perfect translation and
lower is worse. An answer in neither layout raises ``JudgeAnswerError``: the caller counts it as a
judge failure and leaves the segment out of the mean; it is never scored as 0.

A DA judge answers one number from 0 to 100; anything else is a failure too.

``PARSER_VERSION`` is part of every judge's signature and cache key: changing a rule here changes it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

PARSER_VERSION = 2  # 2: a JSON severity "non-translation" reads as a critical non-translation error
SEVERITIES = ("critical", "major", "minor")
WEIGHTS = {"critical": 25.0, "major": 5.0, "minor": 1.0}
NON_TRANSLATION_WEIGHT = 25.0


class JudgeAnswerError(ValueError):
    """The judge's answer could not be read; the message says why in a few words."""


@dataclass(frozen=True)
class ErrorSpan:
    """One annotated error: the span's text, where it is in the translation (None: not found there)."""

    text: str
    category: str
    severity: str
    start: int | None = None
    end: int | None = None

    @property
    def weight(self) -> float:
        if _is_non_translation(self.category):
            return NON_TRANSLATION_WEIGHT
        return WEIGHTS[self.severity]

    def to_json(self) -> dict[str, object]:
        return {
            "text": self.text,
            "start": self.start,
            "end": self.end,
            "severity": self.severity,
            "category": self.category,
        }


NON_TRANSLATION = "non-translation"


def _is_non_translation(category: str) -> bool:
    return re.sub(r"[^a-z]", "", category.lower()).startswith("nontranslation")


def span_json(error: ErrorSpan) -> dict[str, object]:
    """An error as runs store it in segments.jsonl (xCOMET's span shape plus ``category``): severity
    minor, major or critical; a non-translation error (weighed 25 like a critical one) is stored with
    severity critical and category "non-translation", whatever severity the judge gave it."""
    out = error.to_json()
    if _is_non_translation(error.category):
        out["severity"], out["category"] = "critical", NON_TRANSLATION
    return out


def mqm_score(errors: list[ErrorSpan]) -> float:
    """Minus the weighted sum of the errors: 0 for none."""
    return -sum(e.weight for e in errors)


def _locate(span: str, translation: str) -> tuple[int | None, int | None]:
    if not span:
        return None, None
    at = translation.find(span)
    if at < 0:
        lowered = translation.lower().find(span.lower())
        if lowered < 0:
            return None, None
        at = lowered
    return at, at + len(span)


def _severity(word: object) -> str:
    text = str(word or "").strip().lower()
    for severity in SEVERITIES:
        if text.startswith(severity):
            return severity
    if text.startswith("neutral"):
        raise JudgeAnswerError("a neutral severity is not an error")
    raise JudgeAnswerError(f"unknown severity {str(word)[:40]!r}")


_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL | re.IGNORECASE)


def _json_errors(answer: str, translation: str) -> list[ErrorSpan] | None:
    """The errors of a JSON answer; None when the answer holds no JSON object with ``errors``."""
    candidates = [m.group(1) for m in _FENCE.finditer(answer)]
    first, last = answer.find("{"), answer.rfind("}")
    if first >= 0 and last > first:
        candidates.append(answer[first : last + 1])
    for text in candidates:
        try:
            body = json.loads(text)
        except ValueError:
            continue
        if not isinstance(body, dict) or "errors" not in body:
            continue
        items = body["errors"]
        if not isinstance(items, list):
            raise JudgeAnswerError("'errors' is not a list")
        errors = []
        for item in items:
            if not isinstance(item, dict):
                raise JudgeAnswerError("an entry of 'errors' is not an object")
            span = str(item.get("span") or "")
            category = str(item.get("category") or "").strip() or "other"
            severity = item.get("severity")
            if _is_non_translation(str(severity or "")):  # judges put it in either field
                category, severity = NON_TRANSLATION, "critical"
            start, end = _locate(span, translation)
            errors.append(ErrorSpan(span, category, _severity(severity), start, end))
        return errors
    return None


_HEADER = re.compile(r"^\W*(critical|major|minor)\b[^:\n]*:\s*(.*)$", re.IGNORECASE)
_NO_ERROR = re.compile(r"^\W*no[-_ ]?errors?\W*$", re.IGNORECASE)
_ERROR_LINE = re.compile(r"^[\s*•-]*([A-Za-z][\w ./&'!-]*?)\s+-\s+(.*)$")


def _unquote(text: str) -> str:
    text = text.strip()
    for left, right in (('"', '"'), ("“", "”"), ("'", "'"), ("«", "»")):
        if len(text) >= 2 and text.startswith(left) and text.endswith(right):
            return text[1:-1]
    return text


def _gemba_errors(answer: str, translation: str) -> list[ErrorSpan] | None:
    """The errors of a GEMBA-MQM answer; None when it has no severity header at all."""
    severity: str | None = None
    seen_header = False
    errors: list[ErrorSpan] = []
    for raw in answer.splitlines():
        line = raw.strip()
        if not line:
            continue
        header = _HEADER.match(line)
        if header:
            severity, seen_header = header.group(1).lower(), True
            rest = header.group(2).strip()
            if not rest or _NO_ERROR.match(rest):
                continue
            line = rest
        if severity is None or _NO_ERROR.match(line):
            continue
        match = _ERROR_LINE.match(line)
        if not match:
            continue  # judges add remarks between the lines; only well-formed error lines count
        category = match.group(1).strip()
        span = _unquote(match.group(2))
        start, end = _locate(span, translation)
        errors.append(ErrorSpan(span, category, severity, start, end))
    return errors if seen_header else None


def parse_mqm(answer: str, translation: str = "") -> list[ErrorSpan]:
    """The errors an MQM judge annotated in ``translation``; ``JudgeAnswerError`` if unreadable."""
    if not isinstance(answer, str) or not answer.strip():
        raise JudgeAnswerError("empty answer")
    found = _json_errors(answer, translation)
    if found is None:
        found = _gemba_errors(answer, translation)
    if found is None:
        raise JudgeAnswerError("neither severity headers (Critical:/Major:/Minor:) nor a JSON 'errors' list")
    return found


_NUMBER = re.compile(r"(?<![\w.])(-?\d+(?:\.\d+)?)(?![\w.])")


def parse_da(answer: str) -> float:
    """The 0-100 score a DA judge answered ("Score: 87", "87/100", "87"); ``JudgeAnswerError`` otherwise."""
    if not isinstance(answer, str) or not answer.strip():
        raise JudgeAnswerError("empty answer")
    labelled = re.search(r"score\s*[:=]?\s*(-?\d+(?:\.\d+)?)", answer, re.IGNORECASE)
    numbers = [labelled.group(1)] if labelled else _NUMBER.findall(answer)
    if not numbers:
        raise JudgeAnswerError("no number in the answer")
    if not labelled and len(set(numbers) - {"100"}) > 1:
        raise JudgeAnswerError("several numbers and no 'score' label")
    value = float(numbers[0] if numbers[0] != "100" or len(numbers) == 1 else numbers[1])
    if not 0.0 <= value <= 100.0:
        raise JudgeAnswerError(f"score {value:g} is outside 0-100")
    return value
