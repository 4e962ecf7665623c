"""LLM judges' answers: GEMBA-MQM layout, JSON layout, weights, spans located, failures never scored 0."""

from __future__ import annotations

import pytest

from mtharness.scoring.judge_parse import JudgeAnswerError, mqm_score, parse_da, parse_mqm

TRANSLATION = "Der Hund lief schnell über die Strasse und bellte den Briefträger an."

GEMBA = """Critical:
no-error
Major:
accuracy/mistranslation - "bellte"
Minor:
fluency/spelling - "Strasse"
style/awkward - "lief schnell"
"""


def test_gemba_layout_with_weights_and_positions() -> None:
    errors = parse_mqm(GEMBA, TRANSLATION)
    assert [(e.severity, e.category, e.text) for e in errors] == [
        ("major", "accuracy/mistranslation", "bellte"),
        ("minor", "fluency/spelling", "Strasse"),
        ("minor", "style/awkward", "lief schnell"),
    ]
    assert mqm_score(errors) == -7.0
    first = errors[0]
    assert first.start is not None and TRANSLATION[first.start : first.end] == "bellte"


def test_no_errors_anywhere_is_a_perfect_score_not_a_failure() -> None:
    answer = "Critical:\nno-error\nMajor:\nno-error\nMinor:\nno-error\n"
    assert parse_mqm(answer, TRANSLATION) == []
    assert mqm_score(parse_mqm(answer, TRANSLATION)) == 0.0


def test_critical_and_non_translation_weigh_25() -> None:
    answer = 'Critical:\nnon-translation - "Der Hund"\naccuracy/addition - "und"\nMajor:\nno-error\n'
    errors = parse_mqm(answer, TRANSLATION)
    assert mqm_score(errors) == -50.0
    minor_non_translation = parse_mqm('Minor:\nNon-translation! - "Hund"', TRANSLATION)
    assert mqm_score(minor_non_translation) == -25.0


def test_json_layout_bare_and_fenced() -> None:
    body = (
        '{"errors": [{"span": "bellte", "category": "accuracy/mistranslation", "severity": "major"},'
        ' {"span": "Strasse", "category": "fluency/spelling", "severity": "Minor"}]}'
    )
    for answer in (body, f"Here is my annotation:\n```json\n{body}\n```\nThanks."):
        errors = parse_mqm(answer, TRANSLATION)
        assert [e.severity for e in errors] == ["major", "minor"]
        assert mqm_score(errors) == -6.0
    assert parse_mqm('{"errors": []}', TRANSLATION) == []


def test_span_not_in_the_translation_keeps_its_text_without_position() -> None:
    errors = parse_mqm('Major:\naccuracy/omission - "the postman"', TRANSLATION)
    assert errors[0].text == "the postman" and errors[0].start is None and errors[0].end is None


def test_span_with_markup_stays_text() -> None:
    errors = parse_mqm('Minor:\nfluency/markup - "<script>alert(1)</script>"', "x <script>alert(1)</script>")
    assert errors[0].text == "<script>alert(1)</script>" and errors[0].start == 2


@pytest.mark.parametrize(
    "answer",
    [
        "",
        "   ",
        "The translation is quite good overall.",
        "ok ok ok ok",
        '{"score": 3}',
        '{"errors": "none"}',
        '{"errors": [{"span": "x", "category": "a", "severity": "enormous"}]}',
    ],
)
def test_unreadable_answers_raise(answer: str) -> None:
    with pytest.raises(JudgeAnswerError):
        parse_mqm(answer, TRANSLATION)


@pytest.mark.parametrize(
    ("answer", "value"),
    [("87", 87.0), ("Score: 72.5", 72.5), ("I would give it 64/100.", 64.0), ("100", 100.0), ("0", 0.0)],
)
def test_da_scores(answer: str, value: float) -> None:
    assert parse_da(answer) == value


@pytest.mark.parametrize("answer", ["", "great", "between 60 and 70", "150", "Score: -3"])
def test_da_failures(answer: str) -> None:
    with pytest.raises(JudgeAnswerError):
        parse_da(answer)
