"""LLM judges as metrics: ``llm_mqm`` (MQM error annotation) and ``llm_da`` (a 0-100 score).

A served chat model (any OpenAI-compatible endpoint, asked through translator=openai's client:
scoring.judge_client) is asked one question per segment with a prompt of the ``judge/`` config group
(scoring.judge_prompt). Its answer is parsed (scoring.judge_parse):

- llm_mqm: the errors it lists; the segment score is minus their weighted sum (minor 1, major 5,
  critical 25, non-translation 25), 0 for a perfect translation; the errors become spans in
  segments.jsonl (``spans.<direction>.LLM-MQM``);
- llm_da: the 0-100 score it gives.

The system score is the mean over the segments whose answer could be parsed. An answer that cannot
be parsed is a judge failure: its segment score is missing (null in segments.jsonl), it is left out
of the mean and counted (``judge_failures`` beside the score in scores.json, and per direction in the
``judges`` block with the requests' usage and cost). It is never scored as 0.

Which directions: the forward direction, with source and translation (and the reference where the
prompt uses {reference}). The round trip only with ``round_trip: true``: a reference-free judge of
the way back judges the system's reading of its own output, which says little about the system.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mtharness.core import MetricResult, MtharnessError
from mtharness.scoring.judge_client import AnswerCache, Endpoint, JudgeClient, ask_cached
from mtharness.scoring.judge_parse import (
    PARSER_VERSION,
    JudgeAnswerError,
    mqm_score,
    parse_da,
    parse_mqm,
    span_json,
)
from mtharness.scoring.judge_prompt import JudgePrompt, load_prompt
from mtharness.scoring.protocol import SEGMENT_MEAN, MetricInfo, SegmentMetric
from mtharness.translators.httpretry import RetryPolicy

KEYS = (
    "base_url", "model", "api_key_env", "max_concurrency", "max_retries", "timeout_s",
    "requests_per_minute", "temperature", "seed", "judge", "max_tokens", "backoff_s",
    "price_per_1k_input", "price_per_1k_output", "round_trip",
)  # fmt: skip


@dataclass(frozen=True)
class JudgeConfig:
    kind: str  # the metric's kind (metrics.<kind>)
    answer: str  # what the judge answers: mqm (errors) or da (a 0-100 score)
    endpoint: Endpoint
    judge: str  # the prompt: a name in configs/judge/ or a YAML path
    round_trip: bool = False


def _number(
    where: str, key: str, value: Any, *, whole: bool = False, low: float = 0.0, strict: bool = False
) -> Any:
    bad = (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or (whole and not isinstance(value, int))
    )
    if bad or not math.isfinite(value) or value < low or (strict and value == low):
        kind = "a whole number" if whole else "a number"
        bound = f"> {low:g}" if strict else f">= {low:g}"
        raise MtharnessError(f"{where}.{key}={value!r}: must be {kind} {bound}")
    return value


def judge_config(kind: str, answer: str, args: Mapping[str, Any]) -> JudgeConfig:
    """metrics.<kind> checked key by key; one line naming the key on a bad value."""
    where = f"metrics.{kind}"
    unknown = sorted(set(args) - set(KEYS) - {"metric"})
    if unknown:
        raise MtharnessError(f"{where}: unknown key(s) {unknown}; known: {', '.join(KEYS)}")
    base_url = str(args.get("base_url") or "")
    if not base_url.startswith(("http://", "https://")):
        raise MtharnessError(f"{where}.base_url={base_url!r} must start with http:// or https:// (up to /v1)")
    model = args.get("model")
    if not model or str(model) == "???":
        raise MtharnessError(f"{where}.model is not set: give the name the server knows the judge model by")
    key_env = args.get("api_key_env")
    if key_env is not None and not str(key_env).replace("_", "").isalnum():
        raise MtharnessError(
            f"{where}.api_key_env must be the NAME of an environment variable (e.g. OPENAI_API_KEY), "
            f"not {'the key itself' if len(str(key_env)) > 20 else repr(key_env)}"
        )
    rpm = args.get("requests_per_minute")
    seed = args.get("seed", 0)
    if seed is not None:
        _number(where, "seed", seed, whole=True)
    prices = [args.get(k) for k in ("price_per_1k_input", "price_per_1k_output")]
    for key, price in zip(("price_per_1k_input", "price_per_1k_output"), prices, strict=True):
        if price is not None:
            _number(where, key, price)
    round_trip = args.get("round_trip", False)
    if not isinstance(round_trip, bool):
        raise MtharnessError(f"{where}.round_trip={round_trip!r}: must be true or false")
    policy = RetryPolicy(
        max_concurrency=_number(where, "max_concurrency", args.get("max_concurrency", 8), whole=True, low=1),
        timeout_s=float(_number(where, "timeout_s", args.get("timeout_s", 120.0), strict=True)),
        max_retries=_number(where, "max_retries", args.get("max_retries", 5), whole=True),
        backoff_s=float(_number(where, "backoff_s", args.get("backoff_s", 1.0))),
        requests_per_minute=None
        if rpm is None
        else float(_number(where, "requests_per_minute", rpm, strict=True)),
    )
    endpoint = Endpoint(
        where=where,
        base_url=base_url.rstrip("/"),
        model=str(model),
        api_key_env=None if key_env is None else str(key_env),
        policy=policy,
        temperature=float(_number(where, "temperature", args.get("temperature", 0.0))),
        seed=seed,
        max_tokens=_number(where, "max_tokens", args.get("max_tokens", 512), whole=True, low=1),
        price_per_1k_input=prices[0],
        price_per_1k_output=prices[1],
    )
    return JudgeConfig(kind, answer, endpoint, str(args.get("judge") or f"{answer}_zero_shot"), round_trip)


def judge_prompt(cfg: JudgeConfig) -> JudgePrompt:
    """The configured prompt, asking for the metric's answer (an MQM prompt for llm_mqm, DA for llm_da)."""
    prompt = load_prompt(cfg.judge, f"metrics.{cfg.kind}")
    if prompt.kind != cfg.answer:
        raise MtharnessError(
            f"metrics.{cfg.kind}.judge={cfg.judge!r} is a {prompt.kind} prompt; {cfg.kind} needs a {cfg.answer} one"
        )
    return prompt


def signature(cfg: JudgeConfig, prompt: JudgePrompt) -> str:
    """Everything the scores depend on (where the model is served is not: base_url is left out)."""
    ep = cfg.endpoint
    return (
        f"{cfg.kind}|model:{ep.model}|judge:{prompt.name}|prompt:{prompt.digest()[:16]}|parser:{PARSER_VERSION}"
        f"|temperature:{ep.temperature:g}|seed:{ep.seed}|max_tokens:{ep.max_tokens}"
        + ("|ref:yes" if prompt.uses_reference else "")
    )


class _Judge(SegmentMetric):
    answer = "mqm"  # what its judge answers (judge_prompt.KINDS)

    def config(self, args: Mapping[str, Any]) -> JudgeConfig:
        return judge_config(self.info.kind, self.answer, args)

    def check_args(self, args: Mapping[str, Any]) -> None:
        self.config(args)

    def needs_references_for(self, args: Mapping[str, Any]) -> bool:
        return judge_prompt(self.config(args)).uses_reference

    def scores_round_trip(self, args: Mapping[str, Any]) -> bool:
        return self.config(args).round_trip

    def check_ready(self, args: Mapping[str, Any]) -> None:
        """Before translating: the prompt loads, the key's variable is set, the endpoint answers."""
        cfg = self.config(args)
        judge_prompt(cfg)
        JudgeClient(cfg.endpoint).probe()

    def signature(self, args: Mapping[str, Any]) -> str:
        cfg = self.config(args)
        return signature(cfg, judge_prompt(cfg))

    def open(self, args: Mapping[str, Any], cache_dir: str | Path | None) -> JudgeScorer:
        cfg = self.config(args)
        scorer = MqmScorer if cfg.answer == "mqm" else JudgeScorer
        return scorer(self.info, cfg, judge_prompt(cfg), AnswerCache(cache_dir))


class LlmMqm(_Judge):
    """MQM error annotation by an LLM: 0 is perfect, each error costs its weight; higher is better."""

    info = MetricInfo(
        "llm_mqm", "LLM-MQM", higher_is_better=True, precision=2, range=(None, 0.0), options=(*KEYS, "metric"),
        needs_source=True, needs_references=False, aggregation=SEGMENT_MEAN,
    )  # fmt: skip


class LlmDa(_Judge):
    """A 0-100 direct-assessment score by an LLM; higher is better."""

    answer = "da"

    info = MetricInfo(
        "llm_da", "LLM-DA", higher_is_better=True, precision=1, range=(0.0, 100.0), options=(*KEYS, "metric"),
        needs_source=True, needs_references=False, aggregation=SEGMENT_MEAN,
    )  # fmt: skip


class JudgeScorer:
    """One judge opened for a run: asks (or reads from the cache), parses, counts failures."""

    def __init__(self, info: MetricInfo, cfg: JudgeConfig, prompt: JudgePrompt, cache: AnswerCache) -> None:
        self.info, self.cfg, self.prompt, self.cache = info, cfg, prompt, cache
        self.client = JudgeClient(cfg.endpoint)
        self.direction, self.src, self.tgt = "forward", "the source language", "the target language"
        self.counts: dict[str, dict[str, int]] = {}
        self._spans: list[list[dict[str, Any]]] = []

    def set_direction(self, direction: str, src: str, tgt: str) -> None:
        """The direction the next ``score()`` judges (its name and language codes)."""
        self.direction, self.src, self.tgt = direction, src, tgt

    def score(
        self, sources: Sequence[str], hyps: Sequence[str], refs: Sequence[str] | None
    ) -> tuple[MetricResult, list[float]]:
        """The mean over parsed answers and each segment's score (NaN where the answer was unparseable)."""
        if self.prompt.uses_reference and refs is None:
            raise MtharnessError(
                f"metrics.{self.cfg.kind}.judge={self.cfg.judge}: the prompt uses {{reference}} and there "
                "are no references; choose a reference-free judge prompt"
            )
        bodies = [
            self.client.body(
                self.prompt.messages(self.src, self.tgt, s, h, None if refs is None else refs[i])
            )
            for i, (s, h) in enumerate(zip(sources, hyps, strict=True))
        ]
        answers, hits = ask_cached(self.client, self.cache, bodies)
        scores: list[float] = []
        self._spans = []
        for answer, hyp in zip(answers, hyps, strict=True):
            try:
                if self.cfg.answer == "mqm":
                    errors = parse_mqm(answer, hyp)
                    scores.append(mqm_score(errors))
                    self._spans.append([span_json(e) for e in errors])
                else:
                    scores.append(parse_da(answer))
                    self._spans.append([])
            except JudgeAnswerError:
                scores.append(math.nan)
                self._spans.append([])
        parsed = [s for s in scores if not math.isnan(s)]
        failures = len(scores) - len(parsed)
        slot = self.counts.setdefault(self.direction, {"segments": 0, "judge_failures": 0, "cache_hits": 0})
        slot["segments"] += len(scores)
        slot["judge_failures"] += failures
        slot["cache_hits"] += hits
        mean = sum(parsed) / len(parsed) if parsed else math.nan
        extra = {"judge_failures": failures, "judged": len(scores)}
        return self.info.result(mean, signature(self.cfg, self.prompt), extra), scores

    def report(self) -> dict[str, dict[str, Any]]:
        """For scores.json ``judges``: failures per direction and the requests' usage and cost."""
        return {"judges": {self.info.score_name: {"directions": self.counts, "usage": self.client.usage()}}}

    def close(self) -> None:
        self.cache.close()


class MqmScorer(JudgeScorer):
    """The MQM judge's scorer also hands its errors on as spans (protocol.SpanScorer)."""

    def spans(self) -> list[list[dict[str, Any]]]:
        """Each segment's errors from the last ``score()``: {text, start, end, severity, category}
        (start/end None where the span is not found in the translation); none for a failure."""
        return self._spans
