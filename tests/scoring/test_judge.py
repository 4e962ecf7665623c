"""LLM judges (llm_mqm, llm_da) against a scripted judge server on 127.0.0.1: parsing, weighting,
spans, failures, retries on 429s and timeouts, the answer cache, and the key kept out of every file.

The server (tests/helpers/openai_fault_server.py) answers each request by words in the translation
it is asked about: GEMBA (a GEMBA-MQM layout answer), JSONNT (a fenced JSON answer with a
non-translation error), GARBLE (prose: unparseable), anything else a JSON answer without errors;
RATE1 / SLOW1 in a translation give it a 429 or a timeout on its first request.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mtharness.core import MtharnessError
from mtharness.scoring import registry
from mtharness.scoring.judge import JudgeScorer
from tests.helpers.openai_fault_server import FaultServer

GEMBA = 'Critical:\nno-error\nMajor:\naccuracy/mistranslation - "Hund"\nMinor:\nfluency/grammar - "ist"\n'
JSON_NT = (
    '```json\n{"errors": [{"span": "the dog", "category": "non-translation", "severity": "minor"}]}\n```'
)


def translation_of(body: dict[str, Any]) -> str:
    """The translation in the last user turn of our judge prompts."""
    text = body["messages"][-1]["content"]
    return str(text.split("translation:\n", 1)[1].split("\n\n", 1)[0])


def scripted(body: dict[str, Any]) -> str:
    hyp = translation_of(body)
    if "Rate this translation" in body["messages"][-1]["content"]:
        return "I cannot say." if "GARBLE" in hyp else "Score: 80"
    if "GEMBA" in hyp:
        return GEMBA
    if "JSONNT" in hyp:
        return JSON_NT
    if "GARBLE" in hyp:
        return "The translation reads well overall, I would keep it."
    return '{"errors": []}'


@pytest.fixture
def server() -> Iterator[FaultServer]:
    with FaultServer(slow_s=20.0, segment=translation_of, answer=scripted) as srv:
        yield srv


def judge_args(server: FaultServer, **kw: Any) -> dict[str, Any]:
    return {"base_url": server.base_url, "model": "tiny", "backoff_s": 0.02, "max_retries": 3, **kw}


def open_judge(kind: str, args: dict[str, Any], cache: Path | None) -> JudgeScorer:
    scorer = registry.get(kind).open(args, cache)  # type: ignore[attr-defined]
    assert isinstance(scorer, JudgeScorer)
    scorer.set_direction("forward", "en", "de")
    return scorer


SOURCES = ["The dog is big.", "the dog", "It rains.", "Good morning."]
HYPS = ["Der Hund ist GEMBA groß.", "JSONNT the dog", "Es GARBLE regnet.", "Guten Morgen."]


def test_mqm_weights_spans_and_failures(server: FaultServer, tmp_path: Path) -> None:
    scorer = open_judge("llm_mqm", judge_args(server), tmp_path)
    result, segs = scorer.score(SOURCES, HYPS, None)
    assert segs[0] == -(5 + 1) and segs[1] == -25 and math.isnan(segs[2]) and segs[3] == 0
    assert result.score == pytest.approx((-6 - 25 + 0) / 3)  # the unparseable one is left out, not 0
    assert result.name == "LLM-MQM" and result.higher_is_better
    assert result.extra["judge_failures"] == 1 and result.extra["judged"] == 4
    spans = scorer.spans()  # type: ignore[attr-defined]
    assert spans[0] == [
        {"text": "Hund", "start": 4, "end": 8, "severity": "major", "category": "accuracy/mistranslation"},
        {"text": "ist", "start": 9, "end": 12, "severity": "minor", "category": "fluency/grammar"},
    ]
    # a non-translation error is stored as critical whatever severity the judge gave it
    assert spans[1] == [
        {"text": "the dog", "start": 7, "end": 14, "severity": "critical", "category": "non-translation"}
    ]
    assert spans[2] == [] and spans[3] == []
    report = scorer.report()["judges"]["LLM-MQM"]
    assert report["directions"]["forward"] == {"segments": 4, "judge_failures": 1, "cache_hits": 0}
    assert report["usage"]["requests"] == 4 and report["usage"]["prompt_tokens"] > 0
    # what was sent: our prompt with the languages named, temperature 0 and the fixed seed
    body = server.requests[0]["body"]
    assert body["temperature"] == 0 and body["seed"] == 0 and body["model"] == "tiny"
    assert "from English into German" in body["messages"][-1]["content"]
    scorer.close()


def test_da_scores_and_failures(server: FaultServer, tmp_path: Path) -> None:
    scorer = open_judge("llm_da", judge_args(server), tmp_path)
    result, segs = scorer.score(SOURCES, HYPS, None)
    assert segs[:2] == [80.0, 80.0] and math.isnan(segs[2]) and result.score == 80.0
    assert result.name == "LLM-DA" and result.extra["judge_failures"] == 1
    assert not hasattr(scorer, "spans")  # DA has no error spans
    scorer.close()


def test_rerun_reads_every_answer_from_the_cache(server: FaultServer, tmp_path: Path) -> None:
    first = open_judge("llm_mqm", judge_args(server), tmp_path)
    a, seg_a = first.score(SOURCES, HYPS, None)
    first.close()
    sent = len(server.requests)
    again = open_judge("llm_mqm", judge_args(server), tmp_path)
    b, seg_b = again.score(SOURCES, HYPS, None)
    assert len(server.requests) == sent  # 0 requests
    assert a == b and str(seg_a) == str(seg_b)
    report = again.report()["judges"]["LLM-MQM"]
    assert report["usage"]["requests"] == 0 and report["directions"]["forward"]["cache_hits"] == 4
    again.close()
    # any setting in the request body is another question: asked again
    other = open_judge("llm_mqm", judge_args(server, temperature=0.5), tmp_path)
    other.score(SOURCES[:1], HYPS[:1], None)
    assert len(server.requests) == sent + 1
    other.close()


def test_identical_questions_are_asked_once(server: FaultServer) -> None:
    scorer = open_judge("llm_mqm", judge_args(server), None)
    _, segs = scorer.score(["a", "a", "a"], ["Guten Morgen."] * 3, None)
    assert segs == [0.0, 0.0, 0.0] and len(server.requests) == 1
    scorer.close()


def test_429_and_timeout_are_retried(server: FaultServer, tmp_path: Path) -> None:
    # a timeout far below the scripted slow answer (20 s) and far above a normal answer's time
    scorer = open_judge("llm_mqm", judge_args(server, timeout_s=2.0), tmp_path)
    _, segs = scorer.score(["a", "b", "c"], ["Der Hund ist GEMBA RATE1", "SLOW1 Morgen", "ok"], None)
    assert segs == [-6.0, 0.0, 0.0]
    usage = scorer.report()["judges"]["LLM-MQM"]["usage"]
    assert usage["outcomes"]["HTTP 429"] == 1 and usage["outcomes"]["timed out"] == 1
    assert usage["retries"] == 2 and usage["requests"] == 5
    scorer.close()


def test_a_request_that_keeps_failing_is_one_line_and_keeps_what_arrived(
    server: FaultServer, tmp_path: Path
) -> None:
    scorer = open_judge("llm_mqm", judge_args(server, max_retries=1, max_concurrency=1), tmp_path)
    with pytest.raises(MtharnessError, match=r"metrics\.llm_mqm: the judge at .* failed: HTTP 500"):
        scorer.score(["a", "b"], ["Guten Morgen.", "FIVEHUNDRED always"], None)
    scorer.close()
    sent = len(server.requests)
    again = open_judge("llm_mqm", judge_args(server), tmp_path)
    again.score(["a"], ["Guten Morgen."], None)
    assert len(server.requests) == sent  # the answer that arrived before the failure was kept
    again.close()


def test_cost_from_prices(server: FaultServer) -> None:
    scorer = open_judge("llm_mqm", judge_args(server, price_per_1k_input=1.0, price_per_1k_output=2.0), None)
    scorer.score(SOURCES[:2], HYPS[:2], None)
    usage = scorer.report()["judges"]["LLM-MQM"]["usage"]
    expected = usage["prompt_tokens"] / 1000 + usage["completion_tokens"] / 1000 * 2.0
    assert usage["cost_estimate"] == pytest.approx(expected) and expected > 0
    scorer.close()


def test_signature_names_model_prompt_parser_temperature_seed(server: FaultServer) -> None:
    metric = registry.get("llm_mqm")
    base = judge_args(server)
    sig = metric.signature(base)  # type: ignore[attr-defined]
    for part in ("model:tiny", "judge:mqm_zero_shot", "prompt:", "parser:", "temperature:0", "seed:0"):
        assert part in sig
    changes = {"model": "other", "judge": "mqm_few_shot", "temperature": 0.3, "seed": 7, "max_tokens": 64}
    for key, value in changes.items():
        assert metric.signature({**base, key: value}) != sig, key  # type: ignore[attr-defined]
    # where the model is served does not change what it answers
    assert metric.signature({**base, "base_url": "http://elsewhere:9/v1"}) == sig  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("kind", "args", "message"),
    [
        ("llm_mqm", {"judge": "da_zero_shot"}, "is a da prompt; llm_mqm needs a mqm one"),
        ("llm_da", {"judge": "nope"}, "no such judge prompt; known: da_zero_shot"),
        ("llm_mqm", {"base_url": "localhost:8000"}, "must start with http://"),
        ("llm_mqm", {"model": "???"}, "model is not set"),
        ("llm_mqm", {"max_concurrency": 0}, "max_concurrency=0"),
        ("llm_mqm", {"api_key_env": "sk-0123456789abcdefghijklmnop"}, "not the key itself"),
        ("llm_mqm", {"temprature": 0}, "unknown key(s) ['temprature']"),
    ],
)
def test_bad_settings_are_one_line(
    server: FaultServer, kind: str, args: dict[str, Any], message: str
) -> None:
    with pytest.raises(MtharnessError) as err:
        registry.get(kind).check_ready(judge_args(server, **args))
    assert message in str(err.value) and "\n" not in str(err.value)


def test_ready_check_finds_a_missing_key_and_a_dead_endpoint(
    server: FaultServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    metric = registry.get("llm_mqm")
    monkeypatch.delenv("MTH_JUDGE_UNSET", raising=False)
    with pytest.raises(
        MtharnessError, match="api_key_env=MTH_JUDGE_UNSET: that environment variable is not set"
    ):
        metric.check_ready(judge_args(server, api_key_env="MTH_JUDGE_UNSET"))
    with pytest.raises(MtharnessError, match="no judge server answers"):
        metric.check_ready({"base_url": "http://127.0.0.1:9/v1", "model": "tiny"})
    metric.check_ready(judge_args(server))  # the scripted server answers GET /models
