"""Any OpenAI-compatible server as a system: vLLM, TGI, llama.cpp, Ollama, `transformers serve`, hosted APIs.

One HTTP request per segment (the prompt from the `prompt/` config group; a segment's request never
holds another segment, so its translation cannot depend on its neighbours), ``max_concurrency`` in
flight, retries with backoff on 429/5xx/timeouts (see httpretry). Greedy by default
(``temperature: 0``) with a fixed ``seed``; both are sent and recorded in the identity.

The API key is read from the environment variable NAMED by ``api_key_env`` at request time and
kept nowhere else: not in the identity (cache key, scores.json), not in any message. A request
that still fails stops the run with one line (segment id and HTTP status); the segments that did
finish are handed to the translation cache first (SegmentFailed.done), so the rerun resumes.

``usage()`` counts prompt/completion tokens (as the server reports them), requests and retries
of this run, and a cost estimate when prices are set.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from mtharness.core import MtharnessError
from mtharness.textio import warn_once
from mtharness.translators.base import SegmentFailed, TranslatorBase, check_outputs
from mtharness.translators.httpretry import RequestFailed, RetryPolicy, Tally, post_all
from mtharness.translators.llm_base import LLMBackend
from mtharness.translators.prompts import Prompt

ENDPOINTS = {"chat": "/chat/completions", "completions": "/completions"}
_URL_SECRETS = re.compile(
    r"(://[^/:@\s]+:)[^@/\s]+(@)|([?&](?:key|api_key|apikey|token|access_token|sig)=)[^&#\s]+", re.I
)


def public_url(url: str) -> str:
    """``url`` with a password or a key-like query parameter as ***: what identity() and messages show
    (the cache file and scores.json must not hold a key some servers take in the URL)."""
    return _URL_SECRETS.sub(lambda m: f"{m.group(1) or m.group(3)}***{m.group(2) or ''}", url)


def _content_text(content: Any) -> str:
    """message.content as text: a string, or a list of text parts; null (a refusal, a tool call) or
    anything else is a malformed answer (retried, then a failure naming the segment), never ''."""
    if isinstance(content, str):
        return content
    if (
        isinstance(content, list)
        and content
        and all(isinstance(p, dict) and isinstance(p.get("text"), str) for p in content)
    ):
        return "".join(p["text"] for p in content)
    raise TypeError(
        f"choices[0].message.content is {type(content).__name__ if content is not None else 'null'}"
    )


def _answer_chat(body: Any) -> tuple[str, dict[str, Any]]:
    choice = body["choices"][0]
    content = _content_text(choice["message"]["content"])
    return content, {
        **(body.get("usage") or {}),
        "_finish": choice.get("finish_reason"),
    }


def _answer_completion(body: Any) -> tuple[str, dict[str, Any]]:
    choice = body["choices"][0]
    text = choice["text"]
    if not isinstance(text, str):
        raise TypeError("choices[0].text is not a string")
    return text, {**(body.get("usage") or {}), "_finish": choice.get("finish_reason")}


# the LLM judges (scoring/judge_client.py) read a chat answer exactly as this translator does
chat_answer = _answer_chat


class _Flusher:
    """Hands finished answers to a sink in batches: every FLUSH_EVERY answers or FLUSH_S seconds."""

    FLUSH_EVERY, FLUSH_S = 32, 1.0

    def __init__(self, sink: Callable[[dict[str, str]], None] | None, texts: Sequence[str]) -> None:
        self.sink, self.texts = sink, texts
        self.pending: dict[str, str] = {}
        self.last = time.monotonic()

    def add(self, index: int, answer: tuple[str, dict[str, Any]]) -> None:
        if self.sink is None:
            return
        self.pending[self.texts[index]] = answer[0]
        now = time.monotonic()
        if len(self.pending) >= self.FLUSH_EVERY or now - self.last >= self.FLUSH_S:
            self.sink(self.pending)
            self.pending, self.last = {}, now


class OpenAITranslator(LLMBackend, TranslatorBase):
    """Chat or completion requests against ``base_url`` (".../v1"), one per segment.

    The prompt, output cleanup, raw outputs and per-direction prompt hash come from LLMBackend
    (shared with translator=llm); this class does the HTTP side (``answer``).
    """

    context_free = True  # one request per segment: an answer never sees the other segments

    def __init__(
        self,
        model: str,
        base_url: str = "http://localhost:8000/v1",
        name: str = "openai",
        api_key_env: str | None = None,
        endpoint: str = "chat",
        max_concurrency: int = 8,
        timeout_s: float = 120.0,
        max_retries: int = 5,
        backoff_s: float = 1.0,
        max_backoff_s: float = 60.0,
        requests_per_minute: float | None = None,
        temperature: float = 0.0,
        seed: int | None = 0,
        max_tokens: int = 512,
        stop: Sequence[str] | None = None,
        extra_body: Mapping[str, Any] | None = None,
        price_per_1k_input: float | None = None,
        price_per_1k_output: float | None = None,
        prompt: Mapping[str, Any] | Prompt | None = None,
        cleanup: bool = True,
        sentence_level: Any = "auto",
        max_answer_chars: int = 100_000,
    ) -> None:
        if endpoint not in ENDPOINTS:
            raise MtharnessError(f"translator.endpoint={endpoint!r}: use chat or completions")
        if not str(base_url).startswith(("http://", "https://")):
            raise MtharnessError(f"translator.base_url={base_url!r} must start with http:// or https://")
        if int(max_concurrency) < 1 or int(max_retries) < 0 or float(timeout_s) <= 0:
            raise MtharnessError(
                "translator.max_concurrency must be >= 1, max_retries >= 0 and timeout_s > 0"
            )
        limits = {"max_tokens": max_tokens, "max_answer_chars": max_answer_chars}
        for key, value in limits.items():
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise MtharnessError(f"translator.{key}={value!r}: must be a whole number of at least 1")
        rpm = requests_per_minute
        if rpm is not None and (
            isinstance(rpm, bool) or not isinstance(rpm, (int, float)) or not 0 < rpm < 1e9
        ):
            raise MtharnessError(
                f"translator.requests_per_minute={rpm!r}: must be a positive number (or null for no cap)"
            )
        if api_key_env is not None and not str(api_key_env).replace("_", "").isalnum():
            raise MtharnessError(
                f"translator.api_key_env must be the NAME of an environment variable (e.g. OPENAI_API_KEY), "
                f"not {'the key itself' if len(str(api_key_env)) > 20 else repr(api_key_env)}"
            )
        self.name = name
        self.model = str(model)
        self.base_url = str(base_url).rstrip("/")
        self.api_key_env = api_key_env
        self.endpoint = endpoint
        self.policy = RetryPolicy(
            int(max_concurrency), float(timeout_s), int(max_retries), float(backoff_s), float(max_backoff_s),
            None if requests_per_minute is None else float(requests_per_minute),
        )  # fmt: skip
        self.temperature = float(temperature)
        self.seed = None if seed is None else int(seed)
        self.max_tokens = int(max_tokens)
        self.stop = list(stop) if stop else None
        self.extra_body = dict(extra_body or {})
        self.prices = (price_per_1k_input, price_per_1k_output)
        super().__init__(prompt, self.seed or 0, cleanup, sentence_level)
        self.tally = Tally(on_retry=self.report_status)  # retries and waits show in the progress bar
        self.tokens = {"prompt_tokens": 0, "completion_tokens": 0, "answers_without_usage": 0}
        self.finish_length = 0
        self.max_answer_chars, self.truncated = int(max_answer_chars), 0
        self._sink: Callable[[dict[str, str]], None] | None = None

    # ---- requests -------------------------------------------------------------------------------
    def _headers(self) -> dict[str, str]:
        if not self.api_key_env:
            return {}
        key = os.environ.get(self.api_key_env)
        if not key:
            raise MtharnessError(
                f"translator.api_key_env={self.api_key_env}: that environment variable is not set; "
                f"export {self.api_key_env}=<your key> (or set api_key_env=null for a server without keys)"
            )
        return {"Authorization": f"Bearer {key}"}

    def payload(self, text: str, src: str, tgt: str) -> dict[str, Any]:
        """The request body for one segment (model, prompt, decoding settings)."""
        body: dict[str, Any] = {
            "model": self.model,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
        }
        if self.endpoint == "chat":
            body["messages"] = self.prompt.messages(text, src, tgt)
        else:
            body["prompt"] = self.prompt.plain(text, src, tgt)
        if self.seed is not None:
            body["seed"] = self.seed
        if self.stop:
            body["stop"] = self.stop
        return {**body, **self.extra_body}

    def answer(self, texts: Sequence[str], src: str, tgt: str) -> list[str]:
        """The raw answers, one request per text; SegmentFailed (with the finished ones) on a loss."""
        if not texts:
            return []
        headers = self._headers()
        payloads = [self.payload(t, src, tgt) for t in texts]
        base = _answer_chat if self.endpoint == "chat" else _answer_completion

        def parse(body: Any) -> tuple[str, dict[str, Any]]:
            return self._capped(base(body))

        url = self.base_url + ENDPOINTS[self.endpoint]
        sink = _Flusher(self._sink, texts)

        def arrived(index: int, answer: tuple[str, dict[str, Any]]) -> None:
            sink.add(index, answer)
            self.report_progress(1)  # the progress bar moves with every answer

        try:
            answers = post_all(url, payloads, headers, self.policy, self.tally, parse, arrived)
        except RequestFailed as exc:
            done = {texts[i]: self._keep(a) for i, a in exc.done.items()}
            raise SegmentFailed(
                self.name, self._scrub(f"{exc.reason} from {public_url(url)}"), texts[exc.index], done
            ) from None
        return check_outputs(self.name, texts, [self._keep(a) for a in answers])

    def set_answer_sink(self, sink: Callable[[dict[str, str]], None] | None) -> None:
        """Where finished raw answers go while a call is still running (the translation cache's
        insert): a kill -9 in the middle of a long chunk then loses about a second of answers."""
        self._sink = sink

    def _keep(self, answer: tuple[str, dict[str, Any]]) -> str:
        """Count the answer's tokens; the text goes on as the model wrote it."""
        text, usage = answer
        if "prompt_tokens" in usage or "completion_tokens" in usage:
            self.tokens["prompt_tokens"] += int(usage.get("prompt_tokens") or 0)
            self.tokens["completion_tokens"] += int(usage.get("completion_tokens") or 0)
        else:
            self.tokens["answers_without_usage"] += 1
        self.finish_length += usage.get("_finish") == "length"
        return text

    def _capped(self, answer: tuple[str, dict[str, Any]]) -> tuple[str, dict[str, Any]]:
        """An answer cut at max_answer_chars (before the cache stores it): a runaway answer of megabytes
        would otherwise cost minutes of scoring."""
        text, usage = answer
        if len(text) <= self.max_answer_chars:
            return answer
        self.truncated += 1
        warn_once(self.name, "long answer", f"translator {self.name}: answers longer than "
                  f"translator.max_answer_chars={self.max_answer_chars} are cut there (counted in "
                  "scores.json usage.answers_truncated)")  # fmt: skip
        return text[: self.max_answer_chars], usage

    def _scrub(self, message: str) -> str:
        key = os.environ.get(self.api_key_env or "") if self.api_key_env else None
        return message.replace(key, "***") if key else message

    # ---- records --------------------------------------------------------------------------------
    def identity(self) -> dict[str, Any]:
        """Everything that decides an answer; the key itself never (only the variable's name)."""
        return {
            "backend": "openai",
            "base_url": public_url(self.base_url),
            "model": self.model,
            "endpoint": self.endpoint,
            "temperature": self.temperature,
            "seed": self.seed,
            "max_tokens": self.max_tokens,
            "stop": self.stop,
            "max_answer_chars": self.max_answer_chars,  # answers are cut before the cache stores them
            "extra_body": self.extra_body,
            **self.llm_identity(),  # prompt settings and cleanup rules; the rendered hash is per direction
        }

    def usage(self) -> dict[str, Any]:
        """Tokens, requests and retries of this run (cache hits cost nothing), and the cost estimate."""
        out: dict[str, Any] = {
            "prompt_tokens": self.tokens["prompt_tokens"],
            "completion_tokens": self.tokens["completion_tokens"],
            "requests": self.tally.requests,
            "retries": self.tally.retries,
            "outcomes": dict(sorted(self.tally.statuses.items())),
            "answers_without_usage": self.tokens["answers_without_usage"],
            "stopped_at_max_tokens": self.finish_length,
            "answers_truncated": self.truncated,
        }
        price_in, price_out = self.prices
        if price_in is not None or price_out is not None:
            cost = out["prompt_tokens"] / 1000 * float(price_in or 0)
            cost += out["completion_tokens"] / 1000 * float(price_out or 0)
            out["cost_estimate"] = round(cost, 6)
            out["price_per_1k_input"], out["price_per_1k_output"] = price_in, price_out
        return out

    def run_info(self) -> dict[str, Any]:
        return {**super().run_info(), "usage": self.usage()}
