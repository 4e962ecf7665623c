"""Concurrent JSON POSTs with retries, backoff and a request-rate cap (the transport of translator=openai).

Why here and not in openai.py: the policy (what is retried, how long to wait, how failures end a
call) is the part worth testing against a fault server, apart from what the payloads mean.

- At most ``max_concurrency`` requests in flight (one httpx.AsyncClient, a semaphore).
- Retried: HTTP 408, 409, 429 and 5xx, timeouts, dropped connections and malformed JSON bodies,
  up to ``max_retries`` times. The wait is ``Retry-After`` when the server sends one (seconds
  or an HTTP date), else exponential backoff with jitter: backoff_s * 2**attempt * U(0.5, 1),
  both capped at ``max_backoff_s``. Other statuses (400, 401, 404, ...) fail at once.
- ``requests_per_minute`` spaces request starts evenly (retries included).
- The first request that still fails cancels the rest of the call and raises ``RequestFailed``
  with the results that did finish, so the caller can keep them.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from mtharness.core import MtharnessError

log = logging.getLogger("mtharness.http")


def quiet_http_logs() -> None:
    """httpx and httpcore log every request at INFO: ~1,100 lines in a run's log and progress bar for
    one WMT test set. Their lines show at WARNING; our own per-request line is debug level."""
    for name in ("httpx", "httpcore"):
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET:  # a level the user chose stays
            logger.setLevel(logging.WARNING)


RETRY_STATUS = frozenset({408, 409, 429}) | frozenset(range(500, 600))


@dataclass
class RetryPolicy:
    max_concurrency: int = 8
    timeout_s: float = 120.0
    max_retries: int = 5
    backoff_s: float = 1.0
    max_backoff_s: float = 60.0
    requests_per_minute: float | None = None


@dataclass
class Tally:
    """What the HTTP side cost: every attempt is a request; attempts after the first are retries."""

    requests: int = 0
    retries: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    # told of each retry and its wait (the progress bar shows it); None: nobody listens
    on_retry: Callable[[str], None] | None = field(default=None, repr=False, compare=False)

    def note(self, outcome: str) -> None:
        self.statuses[outcome] = self.statuses.get(outcome, 0) + 1


class RequestFailed(Exception):
    """One request that still failed; ``index`` into the call's payloads, ``done`` the finished ones."""

    def __init__(self, index: int, reason: str, done: dict[int, Any]) -> None:
        super().__init__(reason)
        self.index, self.reason, self.done = index, reason, done


class _Retryable(Exception):
    def __init__(self, reason: str, retry_after: float | None = None, kind: str | None = None) -> None:
        super().__init__(reason)
        self.reason, self.retry_after, self.kind = reason, retry_after, kind or reason


class _Fatal(Exception):
    pass


def retry_after_s(value: str | None, now: float | None = None) -> float | None:
    """Retry-After as seconds: a number, or an HTTP date turned into the wait until then."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def backoff_s(policy: RetryPolicy, attempt: int, retry_after: float | None, rng: random.Random) -> float:
    if retry_after is not None:
        return min(policy.max_backoff_s, retry_after)
    return min(policy.max_backoff_s, policy.backoff_s * (2**attempt) * (0.5 + rng.random() / 2))


class _Pacer:
    """Spaces request starts at least 60/rpm seconds apart (no cap when rpm is None)."""

    def __init__(self, rpm: float | None) -> None:
        self.interval = 60.0 / rpm if rpm else 0.0
        self.next_at = 0.0
        self.lock = asyncio.Lock()

    async def wait(self) -> None:
        if not self.interval:
            return
        async with self.lock:
            now = time.monotonic()
            delay = self.next_at - now
            self.next_at = max(now, self.next_at) + self.interval
        if delay > 0:
            await asyncio.sleep(delay)


async def _attempt(client: Any, url: str, payload: dict[str, Any], headers: dict[str, str]) -> Any:
    import httpx

    try:
        resp = await client.post(url, json=payload, headers=headers)
    except httpx.TimeoutException:
        raise _Retryable("timed out") from None
    except httpx.ConnectError as exc:  # nothing listens there (yet): see _one
        raise _Retryable(f"cannot connect ({type(exc).__name__})", kind="cannot connect") from None
    except httpx.TransportError as exc:
        raise _Retryable(f"connection error ({type(exc).__name__})", kind="connection error") from None
    # one debug line per request, the URL without its query string (it may carry a key)
    log.debug("POST %s: HTTP %s", url.split("?", 1)[0], resp.status_code)
    if resp.status_code in RETRY_STATUS:
        raise _Retryable(f"HTTP {resp.status_code}", retry_after_s(resp.headers.get("retry-after")))
    if resp.status_code >= 400:
        raise _Fatal(f"HTTP {resp.status_code}: {_body_hint(resp.text)}")
    try:
        return resp.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise _Retryable(f"HTTP {resp.status_code} with a body that is not JSON", kind="malformed") from None


def _body_hint(text: str) -> str:
    try:
        body = json.loads(text)
        err = body.get("error") or body.get("detail")  # OpenAI's form; FastAPI servers' form
        message = err.get("message") if isinstance(err, dict) else err
    except (ValueError, AttributeError):
        message = text
    return " ".join(str(message or "no message").split())[:200]


async def _one(
    client: Any,
    url: str,
    payload: dict[str, Any],
    headers: dict[str, str],
    policy: RetryPolicy,
    pacer: _Pacer,
    tally: Tally,
    rng: random.Random,
    parse: Callable[[Any], Any],
) -> Any:
    last = ""
    for attempt in range(policy.max_retries + 1):
        await pacer.wait()
        tally.requests += 1
        tally.retries += attempt > 0
        try:
            result = parse(await _attempt(client, url, payload, headers))
            tally.note("ok")
            return result
        except _Retryable as exc:
            tally.note(exc.kind)
            last = exc.reason
            if exc.kind == "cannot connect" and not tally.statuses.get("ok"):
                # a server that never answered is down or elsewhere: say so now, not after the backoffs
                raise RequestFailed(
                    -1, f"{exc.reason}: no server answers (is it running, is base_url right?)", {}
                ) from None
            if attempt < policy.max_retries:
                wait = backoff_s(policy, attempt, exc.retry_after, rng)
                if tally.on_retry is not None:
                    tally.on_retry(f"{exc.reason}: retry {attempt + 1}/{policy.max_retries} in {wait:.1f} s")
                await asyncio.sleep(wait)
        except _Fatal as exc:
            tally.note(str(exc).split(":")[0])
            raise RequestFailed(-1, str(exc), {}) from None
        except (KeyError, IndexError, TypeError, ValueError) as exc:  # JSON without the expected fields
            tally.note("malformed")
            last = f"HTTP 200 with an unexpected JSON body ({type(exc).__name__}: {exc})"
            if attempt < policy.max_retries:
                await asyncio.sleep(backoff_s(policy, attempt, None, rng))
    raise RequestFailed(-1, f"{last} after {policy.max_retries} retries", {})


async def _post_all(
    url: str,
    payloads: Sequence[dict[str, Any]],
    headers: dict[str, str],
    policy: RetryPolicy,
    tally: Tally,
    parse: Callable[[Any], Any],
    on_result: Callable[[int, Any], None] | None,
) -> list[Any]:
    import httpx

    n = max(1, int(policy.max_concurrency))
    limits = httpx.Limits(max_connections=n, max_keepalive_connections=n)
    timeout = httpx.Timeout(policy.timeout_s, connect=min(policy.timeout_s, 30.0))
    results: dict[int, Any] = {}
    gate, pacer, rng = asyncio.Semaphore(n), _Pacer(policy.requests_per_minute), random.Random()
    async with httpx.AsyncClient(limits=limits, timeout=timeout) as client:

        async def run(i: int) -> None:
            async with gate:
                try:
                    results[i] = await _one(
                        client, url, payloads[i], headers, policy, pacer, tally, rng, parse
                    )
                    if on_result is not None:
                        on_result(i, results[i])
                except RequestFailed as exc:
                    raise RequestFailed(i, exc.reason, results) from None

        tasks = [asyncio.create_task(run(i)) for i in range(len(payloads))]
        try:
            await asyncio.gather(*tasks)
        except RequestFailed as exc:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise RequestFailed(exc.index, exc.reason, dict(results)) from None
    return [results[i] for i in range(len(payloads))]


def post_all(
    url: str,
    payloads: Sequence[dict[str, Any]],
    headers: dict[str, str],
    policy: RetryPolicy,
    tally: Tally,
    parse: Callable[[Any], Any],
    on_result: Callable[[int, Any], None] | None = None,
) -> list[Any]:
    """``parse(json)`` of each payload's response, in order; RequestFailed on the first lost one.

    ``on_result(index, result)`` runs as each answer arrives (on the event loop's thread, which is
    the caller's), e.g. to commit finished answers before the whole call is done.
    """
    if not payloads:
        return []
    quiet_http_logs()
    try:
        import httpx  # noqa: F401
    except ImportError:
        raise MtharnessError(
            "translator=openai needs httpx: pip install 'mtharness[openai]' (or pip install httpx)"
        ) from None
    return asyncio.run(_post_all(url, payloads, headers, policy, tally, parse, on_result))
