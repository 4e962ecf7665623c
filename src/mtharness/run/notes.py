"""Lines every summary of a run shares (terminal, summary.md, HTML report, leaderboard): what a
served model cost, a forward direction left unscored for want of references, and a way back that
is not the system under test. Each takes the run's record and returns None when silent."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mtharness.run.record import RunRecord
from mtharness.validity.notes import HOW_TO_READ

HOW_TO_READ_NO_REFS = (
    "There are no forward scores: the test set has no reference translations in the target language. "
    "Round-trip scores compare the original with the text translated there and back, need no references, "
    "and are high for a system that copies or barely changes its input, so read them next to the copy "
    "and off-target rates."
)


def forward_unscored(record: RunRecord) -> bool:
    """True when the run translated forward but had no references to score it against."""
    return not record.scores.get("forward") and not record.dataset.references


def no_references_line(record: RunRecord) -> str | None:
    """Said where the forward scores would be."""
    if not forward_unscored(record):
        return None
    ds = record.dataset
    return f"not scored: {ds.name} has no references in {ds.tgt_lang} (the round trip needs none)"


def how_to_read(record: RunRecord) -> str:
    return HOW_TO_READ_NO_REFS if forward_unscored(record) else HOW_TO_READ


def usage_line(usage: Mapping[str, Any] | None) -> str | None:
    """Requests, retries, tokens and cost of a served model (translator=openai's ``usage``)."""
    if not usage:
        return None
    parts = [f"{usage.get('requests', 0)} requests, {usage.get('retries', 0)} retries"]
    outcomes = {k: v for k, v in (usage.get("outcomes") or {}).items() if k != "ok"}
    if outcomes:
        parts[0] += " (" + ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items())) + ")"
    parts.append(
        f"{usage.get('prompt_tokens', 0):,} prompt + {usage.get('completion_tokens', 0):,} completion tokens"
    )
    if usage.get("answers_without_usage"):
        parts.append(f"{usage['answers_without_usage']} answers without token counts")
    if usage.get("stopped_at_max_tokens"):
        parts.append(f"{usage['stopped_at_max_tokens']} stopped at max_tokens")
    if usage.get("cost_estimate") is not None:
        parts.append(f"cost ≈ {usage['cost_estimate']:.4f} (at the configured prices)")
    else:
        parts.append("cost: no prices set")
    return "; ".join(parts)


def way_back_line(translator: Mapping[str, Any] | None) -> str | None:
    """A round trip taken by another system than the one under test (files + a fallback, a gloss)."""
    translator = translator or {}
    fallback = translator.get("fallback")
    if isinstance(fallback, Mapping) and fallback.get("name"):
        kind = (
            " (a word-for-word gloss, not a translation system)" if "gloss" in str(fallback["name"]) else ""
        )
        return (
            f"the way back is {fallback['name']}{kind}, the fallback of {translator.get('name')}: "
            "the round trip measures the forward output through it, not this system's own way back"
        )
    if translator.get("backend") == "gloss" or translator.get("name") == "gloss":
        return "the system is a word-for-word gloss, not a translation system"
    return None


JUDGE_FAILURE_WARN = 0.05  # above this share of unparseable judge answers, every summary says so


def judge_failures_cell(record: RunRecord, direction: str, name: str) -> str:
    """ " (3 of 50 unparsed)" beside an LLM judge's score when some answers could not be parsed."""
    judge = record.judges.get(name)
    failed = judge.failures.get(direction, 0) if judge is not None else 0
    if judge is None or not failed:
        return ""
    return f" ({failed} of {judge.segments.get(direction, 0)} unparsed)"


def judge_lines(record: RunRecord) -> list[str]:
    """Per LLM judge: a warning where more than 5% of its answers could not be parsed, and its usage."""
    lines = []
    for name, judge in record.judges.items():
        for direction, n in judge.segments.items():
            failed = judge.failures.get(direction, 0)
            if n and failed / n > JUDGE_FAILURE_WARN:
                rest = (
                    "the score is the mean over the others"
                    if record.score(direction, name) is not None
                    else "no score"
                )
                lines.append(
                    f"{name} {direction}: {failed} of {n} judge answers could not be parsed "
                    f"({failed / n:.0%}, above {JUDGE_FAILURE_WARN:.0%}); {rest}"
                )
        if usage := usage_line(judge.usage):
            lines.append(f"{name} judge usage: {usage}")
    return lines
