"""The LLM judges' requests: translator=openai's HTTP machinery, and a cache of the judges' answers.

The requests go through ``translators.httpretry.post_all``, the transport of translator=openai (its
concurrency cap, retries on 429/5xx/timeouts with Retry-After, request-rate cap), and answers are
read with the translator's own ``chat_answer``: there is one OpenAI client in the package.

The API key is read from the environment variable NAMED by ``api_key_env`` when a request is made,
and kept nowhere else: not in the cache key, the signature, scores.json or any message.

Answers are cached (``judge.sqlite`` in the run's cache dir) under the sha256 of the endpoint
(``base_url`` with any secret in it masked) and the full request body (model, messages, temperature,
seed, max_tokens): the raw answer is stored, so a parser change re-reads old answers without a
request, and a rerun with the same settings sends none.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mtharness.core import MtharnessError
from mtharness.translators.httpretry import RequestFailed, RetryPolicy, Tally, post_all, quiet_http_logs
from mtharness.translators.openai import chat_answer, public_url

CACHE_FILE = "judge.sqlite"
CACHE_VERSION = 1  # bumped when stored answers can no longer be trusted for an unchanged request
_FLUSH_EVERY = 32  # answers committed together while a call runs (a kill loses at most these)


@dataclass(frozen=True)
class Endpoint:
    """Where and how a judge is asked (metrics.<kind>.base_url, model, ... checked by scoring.judge)."""

    where: str  # "metrics.llm_mqm": the prefix of every message
    base_url: str
    model: str
    api_key_env: str | None = None
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    temperature: float = 0.0
    seed: int | None = 0
    max_tokens: int = 512
    price_per_1k_input: float | None = None
    price_per_1k_output: float | None = None

    @property
    def url(self) -> str:
        return self.base_url.rstrip("/") + "/chat/completions"


class JudgeClient:
    """Sends chat requests to one judge endpoint and counts what they cost."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self.tally = Tally()
        self.tokens = {"prompt_tokens": 0, "completion_tokens": 0, "answers_without_usage": 0}
        self.stopped_at_max_tokens = 0

    def key(self) -> str | None:
        """The key from the environment; one line naming the option when the variable is unset."""
        name = self.endpoint.api_key_env
        if not name:
            return None
        value = os.environ.get(name)
        if not value:
            raise MtharnessError(
                f"{self.endpoint.where}.api_key_env={name}: that environment variable is not set; "
                f"export {name}=<your key> (or set {self.endpoint.where}.api_key_env=null for a server "
                "without keys)"
            )
        return value

    def _headers(self) -> dict[str, str]:
        key = self.key()
        return {"Authorization": f"Bearer {key}"} if key else {}

    def body(self, messages: list[dict[str, str]]) -> dict[str, Any]:
        """The request body for one question (what the cache key is made of, with the endpoint)."""
        ep = self.endpoint
        out: dict[str, Any] = {
            "model": ep.model,
            "messages": messages,
            "temperature": ep.temperature,
            "max_tokens": ep.max_tokens,
        }
        if ep.seed is not None:
            out["seed"] = ep.seed
        return out

    def _scrub(self, message: str) -> str:
        name = self.endpoint.api_key_env
        key = os.environ.get(name) if name else None
        return message.replace(key, "***") if key else message

    def ask(
        self, bodies: Sequence[dict[str, Any]], on_answer: Callable[[int, str], None] | None = None
    ) -> list[str]:
        """The answer text of each body, in order; one line (MtharnessError) when a request still fails
        after its retries. ``on_answer(i, text)`` runs as each answer arrives."""
        if not bodies:
            return []
        ep = self.endpoint

        def arrived(index: int, answer: tuple[str, dict[str, Any]]) -> None:
            self._count(answer[1])
            if on_answer is not None:
                on_answer(index, answer[0])

        try:
            answers = post_all(ep.url, bodies, self._headers(), ep.policy, self.tally, chat_answer, arrived)
        except RequestFailed as exc:
            raise JudgeRequestFailed(
                self._scrub(f"{ep.where}: the judge at {public_url(ep.url)} failed: {exc.reason}"),
                {i: a[0] for i, a in exc.done.items()},
            ) from None
        return [text for text, _ in answers]

    def _count(self, usage: Mapping[str, Any]) -> None:
        if "prompt_tokens" in usage or "completion_tokens" in usage:
            self.tokens["prompt_tokens"] += int(usage.get("prompt_tokens") or 0)
            self.tokens["completion_tokens"] += int(usage.get("completion_tokens") or 0)
        else:
            self.tokens["answers_without_usage"] += 1
        self.stopped_at_max_tokens += usage.get("_finish") == "length"

    def usage(self) -> dict[str, Any]:
        """Requests, retries, tokens and the cost estimate, in translator=openai's ``usage`` layout."""
        ep = self.endpoint
        out: dict[str, Any] = {
            **{k: self.tokens[k] for k in ("prompt_tokens", "completion_tokens")},
            "requests": self.tally.requests,
            "retries": self.tally.retries,
            "outcomes": dict(sorted(self.tally.statuses.items())),
            "answers_without_usage": self.tokens["answers_without_usage"],
            "stopped_at_max_tokens": self.stopped_at_max_tokens,
        }
        if ep.price_per_1k_input is not None or ep.price_per_1k_output is not None:
            cost = out["prompt_tokens"] / 1000 * float(ep.price_per_1k_input or 0)
            cost += out["completion_tokens"] / 1000 * float(ep.price_per_1k_output or 0)
            out["cost_estimate"] = round(cost, 6)
            out["price_per_1k_input"] = ep.price_per_1k_input
            out["price_per_1k_output"] = ep.price_per_1k_output
        return out

    def probe(self) -> None:
        """Before any translation: the endpoint answers like an OpenAI-compatible API, or one line.

        GET <base_url>/models: nothing listening, a refused key (401/403) or a body that is not JSON
        fail now; a server without that route (404, 405) is let through (its first judge request tells).
        """
        import httpx

        quiet_http_logs()
        ep = self.endpoint
        where = f"{ep.where}.base_url={public_url(ep.base_url)}"
        try:
            resp = httpx.get(
                ep.base_url.rstrip("/") + "/models",
                headers=self._headers(),
                timeout=min(ep.policy.timeout_s, 10.0),
            )
        except httpx.HTTPError as exc:
            raise MtharnessError(
                f"{where}: no judge server answers ({type(exc).__name__}); start it, or fix the URL "
                "(up to and including /v1)"
            ) from None
        if resp.status_code in (401, 403):
            raise MtharnessError(
                f"{where}: the server refuses the key (HTTP {resp.status_code}); check {ep.where}.api_key_env"
            )
        if resp.status_code == 200:
            try:
                resp.json()
            except ValueError:
                raise MtharnessError(
                    f"{where}: the server answers something that is not JSON (HTTP 200, "
                    f"{resp.headers.get('content-type', 'no content type')}); is it an "
                    "OpenAI-compatible API (the URL up to and including /v1)?"
                ) from None


class JudgeRequestFailed(MtharnessError):
    """A judge request that still failed; ``done`` holds the answers that arrived before it."""

    def __init__(self, message: str, done: dict[int, str]) -> None:
        super().__init__(message)
        self.done = done


def answer_key(endpoint: Endpoint, body: Mapping[str, Any]) -> str:
    """The cache key of one request: the endpoint (masked) and the full request body; never the key."""
    keyed = {"v": CACHE_VERSION, "url": public_url(endpoint.url), "body": body}
    blob = json.dumps(keyed, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class AnswerCache:
    """The judges' raw answers by request key; ``folder=None`` keeps them in memory (cache off)."""

    def __init__(self, folder: str | Path | None) -> None:
        target = ":memory:"
        if folder is not None:
            try:
                Path(folder).expanduser().mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise MtharnessError(f"judge cache {folder}: cannot create it ({exc.strerror})") from None
            target = str(Path(folder).expanduser() / CACHE_FILE)
        try:
            self.db = sqlite3.connect(target, timeout=120)
            if folder is not None:
                self.db.execute("PRAGMA journal_mode=WAL")
                self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("CREATE TABLE IF NOT EXISTS answers (key TEXT PRIMARY KEY, answer TEXT NOT NULL)")
            self.db.commit()
        except sqlite3.DatabaseError as exc:
            raise MtharnessError(f"judge cache {target}: {exc} (delete the file to start afresh)") from None
        self.path = target

    def get_many(self, keys: Sequence[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        unique = list(dict.fromkeys(keys))
        for lo in range(0, len(unique), 500):  # sqlite's bound-parameter limit
            part = unique[lo : lo + 500]
            rows = self.db.execute(
                f"SELECT key, answer FROM answers WHERE key IN ({','.join('?' * len(part))})", part
            )
            found.update({k: str(a) for k, a in rows})
        return found

    def put_many(self, items: Mapping[str, str]) -> None:
        if not items:
            return
        try:
            with self.db:
                self.db.executemany("INSERT OR IGNORE INTO answers VALUES (?, ?)", list(items.items()))
        except sqlite3.Error as exc:
            raise MtharnessError(f"judge cache {self.path}: {exc}; set cache.dir to another folder") from None

    def close(self) -> None:
        self.db.close()


def ask_cached(
    client: JudgeClient, cache: AnswerCache, bodies: Sequence[dict[str, Any]]
) -> tuple[list[str], int]:
    """Each body's answer, from the cache where it is there, else asked (and stored as they arrive);
    identical bodies are asked once. Returns the answers and how many came from the cache."""
    keys = [answer_key(client.endpoint, b) for b in bodies]
    known = cache.get_many(keys)
    hits = sum(1 for k in keys if k in known)
    first = {k: i for i, k in reversed(list(enumerate(keys)))}
    missing = [i for k, i in sorted(first.items(), key=lambda x: x[1]) if k not in known]
    pending: dict[str, str] = {}

    def arrived(j: int, text: str) -> None:
        pending[keys[missing[j]]] = text
        if len(pending) >= _FLUSH_EVERY:
            cache.put_many(pending)
            pending.clear()

    try:
        answers = client.ask([bodies[i] for i in missing], arrived)
    except JudgeRequestFailed:
        cache.put_many(pending)  # what arrived is kept: the rerun asks only for the rest
        raise
    cache.put_many(pending)
    known.update({keys[i]: a for i, a in zip(missing, answers, strict=True)})
    return [known[k] for k in keys], hits
