"""Local ports and health probes for the tests that start a server (or need nothing listening)."""

from __future__ import annotations

import socket
import urllib.request


def free_port() -> int:
    """A localhost port nothing listens on now (the probe socket is closed again before returning)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def answers_health(base: str, timeout: float = 2) -> bool:
    """True when ``base + "/health"`` answers 200."""
    try:
        with urllib.request.urlopen(f"{base}/health", timeout=timeout) as resp:
            return bool(resp.status == 200)
    except OSError:
        return False
