"""A small OpenAI-compatible HTTP server for error paths: real sockets, scripted faults, bounded.

It answers chat and completion requests by echoing the segment (the text after the prompt's last
"English: " line) upper-cased, so alignment is checkable. A segment containing a fault word gets
that fault for its first N requests (N = the digit after the word, default: always):
  RATE<n>  429 with Retry-After: 1      FIVEHUNDRED<n>  HTTP 500
  SLOW<n>  sleeps past the client timeout    BADJSON<n>  200 with a broken body
  NOKEY    401 (a fatal error: never retried)
  HOLD     answered only once ``server.release`` is set (at most HOLD_MAX_S later), so a test can
           look at what happened while that request is still in flight, whatever the machine's speed
Content words shape a 200 answer instead: MULTILINE (two lines), NULLCONTENT (content null),
LISTCONTENT (content as a list of text parts), HUGE (a 5 MB answer).
With ``fault_rate`` > 0 a deterministic share of all segments (chosen by a hash of the segment) gets
one of 500, 429 + Retry-After, a timeout or a broken body on its first request (``server.injected``).
A judge server: ``segment`` picks the text the faults are looked for in (default: the zero-shot
segment above) and ``answer`` writes each 200 answer's content from the request body (default: the
segment upper-cased); GET .../models lists one model, as OpenAI-compatible servers do.
Every request's path, headers and body are recorded (``server.requests``), and the most
requests ever in flight at once (``server.max_in_flight``).
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

FAULT = re.compile(r"(RATE|FIVEHUNDRED|SLOW|BADJSON|NOKEY|HOLD)(\d*)")
HOLD_MAX_S = 120.0  # a HOLD request never blocks forever, even if the test forgets to release it
RANDOM_KINDS = ("FIVEHUNDRED", "RATE", "SLOW", "BADJSON")


def segment_of(body: dict[str, Any]) -> str:
    """The segment inside a zero-shot prompt (the line after the last "<src_lang>: ")."""
    text = body["messages"][-1]["content"] if "messages" in body else body["prompt"]
    before_answer = text.rsplit("\n", 1)[0]  # drops the closing "<tgt_lang>:" line
    return before_answer.rsplit("\n", 1)[-1].split(": ", 1)[-1]


class FaultServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self,
        slow_s: float = 3.0,
        delay_s: float = 0.0,
        fault_rate: float = 0.0,
        retry_after: str = "1",
        segment: Callable[[dict[str, Any]], str] | None = None,
        answer: Callable[[dict[str, Any]], str] | None = None,
    ) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.slow_s, self.delay_s = slow_s, delay_s
        self.fault_rate, self.retry_after = fault_rate, retry_after
        self.segment_of, self.answer_of = segment or segment_of, answer
        self.injected: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.seen: Counter[str] = Counter()
        self.requests: list[dict[str, Any]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.release = threading.Event()  # lets HOLD requests answer
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (a timeout the test injected) is expected; anything else is printed."""
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def __enter__(self) -> FaultServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    server: FaultServer
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:  # quiet
        pass

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        srv = self.server
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        body = json.loads(raw)
        segment = srv.segment_of(body)
        with srv.lock:
            srv.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
            srv.seen[segment] += 1
            nth = srv.seen[segment]
            srv.in_flight += 1
            srv.max_in_flight = max(srv.max_in_flight, srv.in_flight)
        try:
            self._answer(segment, nth, body)
        finally:
            with srv.lock:
                srv.in_flight -= 1

    def _answer(self, segment: str, nth: int, body: dict[str, Any]) -> None:
        srv = self.server
        if srv.delay_s:
            time.sleep(srv.delay_s)
        fault = FAULT.search(segment)
        kind = fault.group(1) if fault and (not fault.group(2) or nth <= int(fault.group(2))) else None
        if kind is None and srv.fault_rate and nth == 1:
            h = int.from_bytes(hashlib.sha256(segment.encode()).digest()[:8], "big")
            if h % 100_000 < srv.fault_rate * 100_000:
                kind = RANDOM_KINDS[(h // 100_000) % len(RANDOM_KINDS)]
                with srv.lock:
                    srv.injected[kind] += 1
        if kind is not None:
            if kind == "RATE":
                headers = {"Retry-After": srv.retry_after}
                return self._send(429, b'{"error": {"message": "slow down"}}', headers)
            if kind == "FIVEHUNDRED":
                return self._send(500, b'{"error": {"message": "internal error"}}')
            if kind == "BADJSON":
                return self._send(200, b'{"choices": [{"message": ')
            if kind == "NOKEY":
                return self._send(401, b'{"error": {"message": "invalid api key"}}')
            if kind == "HOLD":
                srv.release.wait(HOLD_MAX_S)
                return self._ok(segment, body)
            time.sleep(srv.slow_s)  # SLOW: past the client's timeout
        self._ok(segment, body)

    def do_GET(self) -> None:
        if self.path.endswith("/models"):
            return self._send(200, b'{"object": "list", "data": [{"id": "tiny", "object": "model"}]}')
        self._send(404, b'{"error": {"message": "not found"}}')

    def _ok(self, segment: str, body: dict[str, Any]) -> None:
        answer = self.server.answer_of(body) if self.server.answer_of else segment.upper()
        content: Any = answer
        if "MULTILINE" in segment:
            content = answer = f"{answer}\nSECOND LINE"
        elif "NULLCONTENT" in segment:
            content = None
        elif "LISTCONTENT" in segment:
            content = [{"type": "text", "text": answer[:3]}, {"type": "text", "text": answer[3:]}]
        elif "HUGE" in segment:
            content = answer = "A" * 5_000_000
        if self.path.endswith("/chat/completions"):
            choice: dict[str, Any] = {"index": 0, "message": {"role": "assistant", "content": content}}
        else:
            choice = {"index": 0, "text": " " + answer}
        usage = {"prompt_tokens": len(json.dumps(body)) // 4, "completion_tokens": len(answer.split())}
        out = {"id": "x", "object": "chat.completion", "choices": [{**choice, "finish_reason": "stop"}]}
        self._send(200, json.dumps({**out, "usage": usage}).encode())
