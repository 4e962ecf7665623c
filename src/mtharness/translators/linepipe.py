"""A long-lived line-in, line-out child process (the persistent mode of translator=command).

Three daemon threads keep the pipes moving so neither side can block the other: a writer feeds
the chunk's lines, a reader queues every stdout line, a drainer keeps stderr's tail (a full
stderr pipe would otherwise stall the child). The caller waits at most ``line_timeout_s`` for
each output line; on a timeout, an early exit or a surplus line the process is killed and the
run stops with one line.
"""

from __future__ import annotations

import queue
import subprocess
import threading
from collections import deque
from collections.abc import Mapping, Sequence
from typing import IO

from mtharness.core import MtharnessError

_EOF = None


def stderr_tail(data: bytes | str, lines: int = 3) -> str:
    """The last few non-empty stderr lines joined into one (an error message stays one line)."""
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    kept = [line.strip() for line in text.splitlines() if line.strip()][-lines:]
    return " | ".join(kept)[-400:] or "no message on stderr"


class LinePipe:
    """One child process; translate() sends lines and collects exactly as many lines back."""

    def __init__(
        self,
        argv: Sequence[str],
        label: str,
        line_timeout_s: float,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
    ) -> None:
        self.label = label
        self.line_timeout_s = line_timeout_s
        try:
            self.proc = subprocess.Popen(
                list(argv),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=dict(env) if env is not None else None,
                cwd=cwd,
                bufsize=0,
            )
        except OSError as exc:
            raise MtharnessError(f"command {label!r} could not start: {exc.strerror or exc}") from None
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._stderr: deque[bytes] = deque(maxlen=20)
        assert self.proc.stdout is not None and self.proc.stderr is not None
        threading.Thread(target=self._read, args=(self.proc.stdout,), daemon=True).start()
        threading.Thread(target=self._drain, args=(self.proc.stderr,), daemon=True).start()
        self._write_error: BaseException | None = None

    def _read(self, stream: IO[bytes]) -> None:
        for raw in iter(stream.readline, b""):
            self._lines.put(raw.decode("utf-8", "replace").removesuffix("\n"))
        self._lines.put(_EOF)

    def _drain(self, stream: IO[bytes]) -> None:
        for raw in iter(stream.readline, b""):
            self._stderr.append(raw)

    def _write(self, payload: bytes) -> None:
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.write(payload)
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError) as exc:  # the child died; the reader reports it
            self._write_error = exc

    def _fail(self, why: str) -> MtharnessError:
        self.close()
        return MtharnessError(
            f"command {self.label!r} (persistent) {why}: {stderr_tail(b''.join(self._stderr))}"
        )

    def translate(self, lines: Sequence[str]) -> list[str]:
        if self.proc.poll() is not None:
            raise self._fail(f"is no longer running (exit {self.proc.returncode})")
        if not self._lines.empty():
            raise self._fail("printed more lines than it was given (one output line per input line)")
        payload = "".join(line + "\n" for line in lines).encode("utf-8")
        threading.Thread(target=self._write, args=(payload,), daemon=True).start()
        out: list[str] = []
        for i in range(len(lines)):
            try:
                line = self._lines.get(timeout=self.line_timeout_s)
            except queue.Empty:
                raise self._fail(
                    f"gave no output line for {self.line_timeout_s:g} s (line {i + 1} of {len(lines)}); "
                    "does it flush stdout after each line? raise translator.line_timeout_s if it is slow"
                ) from None
            if line is _EOF:
                code = self.proc.wait()
                raise self._fail(f"exited (code {code}) after {i} of {len(lines)} lines")
            out.append(line)
        return out

    def close(self) -> None:
        """Close stdin (a well-behaved tool exits), then kill what is still running."""
        if self.proc.poll() is None:
            try:
                if self.proc.stdin is not None:
                    self.proc.stdin.close()
                self.proc.wait(timeout=2)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
