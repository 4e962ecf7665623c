"""What keeps `mtharness serve` read-only and private: the request guard and the safe file lookup.

The guard is plain ASGI middleware in front of every route (static files included):

- only GET and HEAD pass (405 otherwise): no endpoint can write, delete or run anything;
- with a token, every request must carry it: ``Authorization: Bearer TOKEN``, ``X-Mtharness-Token``,
  ``?token=TOKEN`` or the ``mtharness_token`` cookie (set after a first ``?token=`` visit so that
  links and forms keep working); compared in constant time;
- without a token (loopback only), the Host header must name the loopback address we bound, so a web
  page in the same browser cannot reach the server through DNS rebinding;
- every answer carries a Content-Security-Policy that allows our own scripts and styles only (no
  inline script, nothing from another origin) and sends no Referer (a token in a URL stays here).

``safe_file`` maps a URL path onto a file under one of the results folders, or None (a 404): no
absolute paths, no ``..`` (also once percent-decoded), nothing that resolves outside its root
(symlinks included), regular files only.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote

TOKEN_ENV = "MTHARNESS_SERVE_TOKEN"
TOKEN_COOKIE = "mtharness_token"
TOKEN_HEADER = "x-mtharness-token"
LOOPBACK_NAMES = ("localhost",)
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 and localhost: the addresses only this machine reaches."""
    if host.strip("[]").lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def token_matches(given: str | None, token: str) -> bool:
    """Constant-time comparison (the time taken does not tell how much of a guess was right)."""
    if not given:
        return False
    return hmac.compare_digest(given.encode("utf-8"), token.encode("utf-8"))


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


def request_token(scope: Scope) -> tuple[str | None, bool]:
    """The token a request carries, and whether it came in the query string (then we set the cookie)."""
    headers = _headers(scope)
    auth = headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip(), False
    if TOKEN_HEADER in headers:
        return headers[TOKEN_HEADER], False
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    if query.get("token"):
        return query["token"][0], True
    cookie = SimpleCookie()
    try:
        cookie.load(headers.get("cookie", ""))
    except Exception:  # a malformed Cookie header is no token, not a 500
        return None, False
    morsel = cookie.get(TOKEN_COOKIE)
    return (morsel.value if morsel else None), False


class Guard:
    """ASGI middleware: methods, token, Host header and security headers (see the module docstring)."""

    def __init__(self, app: ASGIApp, token: str | None, allowed_hosts: Sequence[str] = ()) -> None:
        self.app = app
        self.token = token or None
        self.allowed_hosts = {h.lower() for h in allowed_hosts}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "lifespan":
                await self.app(scope, receive, send)
            return  # websockets: none of our routes uses them
        if scope["method"] not in ("GET", "HEAD"):
            await _plain(send, 405, "read-only: only GET and HEAD", [(b"allow", b"GET, HEAD")])
            return
        set_cookie = False
        if self.token is not None:
            given, from_query = request_token(scope)
            if not token_matches(given, self.token):
                await _plain(send, 401, "token required: open the URL `mtharness serve` printed (?token=...)")
                return
            set_cookie = from_query
        elif not self._host_allowed(scope):
            await _plain(send, 400, "unexpected Host header (this server answers its loopback address)")
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [
                    (b"content-security-policy", CSP.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                    (b"x-frame-options", b"DENY"),
                ]
                if set_cookie and self.token is not None:
                    cookie = f"{TOKEN_COOKIE}={self.token}; Path=/; HttpOnly; SameSite=Strict"
                    headers.append((b"set-cookie", cookie.encode("latin-1")))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _host_allowed(self, scope: Scope) -> bool:
        host = _headers(scope).get("host", "")
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        name = name.strip("[]").lower()
        return is_loopback(name) or name in self.allowed_hosts


async def _plain(send: Send, status: int, text: str, extra: Sequence[tuple[bytes, bytes]] = ()) -> None:
    body = (text + "\n").encode("utf-8")
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
        (b"content-security-policy", CSP.encode()),
        *extra,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def safe_file(roots: Sequence[Path], root_index: int, relative: str) -> Path | None:
    """The regular file ``relative`` under results folder number ``root_index``, or None.

    Refused: an index out of range, an absolute path, any ``..`` or empty part (also percent-encoded,
    decoded once more here: routing has decoded once already), a backslash, and anything whose real
    path (symlinks resolved) is not inside the real path of its root.
    """
    if not 0 <= root_index < len(roots):
        return None
    text = unquote(relative)
    if not text or "\x00" in text or "\\" in text or text.startswith("/"):
        return None
    parts = text.split("/")
    if any(p in ("", ".", "..") for p in parts):
        return None
    root = roots[root_index].resolve()
    try:
        target = root.joinpath(*parts).resolve(strict=True)
    except (OSError, RuntimeError):  # missing, a symlink loop, too long a name
        return None
    if not target.is_relative_to(root) or not target.is_file():
        return None
    return target
