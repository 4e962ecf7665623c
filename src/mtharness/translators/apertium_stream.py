"""A chain of Apertium stages kept running across translate() calls (issue 28).

Starting a mode's stages costs about 0.18 s of CPU (lt-proc alone reads its automaton for ~20 ms),
and `mtharness run` calls translate() once per chunk of 256 segments: per call, that start-up was a
third of the work. Every streamed stage runs with ``-z`` and resets at each ``\\0`` (see
apertium_pipeline), so one long-lived chain gives each segment what a fresh chain gives it; the
chain only has to stay in step: exactly one ``\\0`` out per ``\\0`` in. A chain that falls out of
step (output left over, a stage gone) is stopped and the call fails with one line, never shifts.
"""

from __future__ import annotations

import contextlib
import os
import select
import subprocess
import tempfile
import threading
import time
import weakref
from collections.abc import Sequence
from typing import IO

from mtharness.core import MtharnessError
from mtharness.translators.apertium_pipeline import Argv

_NUL = b"\0"


class StreamChain:
    """``block + \\0`` per block through the stages; the processes stay up until close()."""

    def __init__(self, mode: str, stages: Sequence[Argv]) -> None:
        self.mode = mode
        self.stages = tuple(stages)
        self.starts = 0  # chain starts (each is len(stages) processes)
        self._procs: list[subprocess.Popen[bytes]] = []
        self._errs: list[IO[bytes]] = []
        self._finalizer: weakref.finalize | None = None

    def run(self, blocks: Sequence[bytes], deadline: float) -> list[bytes]:
        """One output per block, in order; the chain is started on first use."""
        if not self.stages or not blocks:
            return list(blocks)
        if not self._procs or any(p.poll() is not None for p in self._procs):
            self.close()
            self._start()
        out = self._procs[-1].stdout
        assert out is not None
        if _ready(out.fileno(), 0):  # output nobody asked for: the chain is out of step
            raise self._fail("output left over from an earlier call")
        writer = threading.Thread(target=_feed, args=(self._procs[0].stdin, blocks), daemon=True)
        writer.start()
        data = self._read(out.fileno(), len(blocks), deadline)
        writer.join()
        parts = data.split(_NUL)
        return parts[: len(blocks)]

    def _start(self) -> None:
        self.starts += 1
        procs: list[subprocess.Popen[bytes]] = []
        # stderr of each stage, read only to name a failure; closed with the chain
        errs: list[IO[bytes]] = [tempfile.TemporaryFile() for _ in self.stages]  # noqa: SIM115
        try:
            for argv, err in zip(self.stages, errs, strict=True):
                stdin = subprocess.PIPE if not procs else procs[-1].stdout
                procs.append(subprocess.Popen(argv, stdin=stdin, stdout=subprocess.PIPE, stderr=err))
                if len(procs) > 1 and procs[-2].stdout is not None:
                    procs[-2].stdout.close()  # the next stage owns it now
        except OSError as exc:
            _stop(procs, errs)
            raise MtharnessError(f"apertium {self.mode}: cannot run a stage ({exc})") from None
        self._procs, self._errs = procs, errs
        self._finalizer = weakref.finalize(self, _stop, procs, errs)

    def _read(self, fd: int, n: int, deadline: float) -> bytes:
        chunks: list[bytes] = []
        seen = 0
        while seen < n:
            if not _ready(fd, deadline - time.monotonic()):
                for p in self._procs:
                    p.kill()
                self.close()
                raise MtharnessError(f"apertium {self.mode} timed out; raise translator.timeout_s")
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                raise self._fail(f"{seen} outputs for {n} segments")
            chunks.append(chunk)
            seen += chunk.count(_NUL)
        data = b"".join(chunks)
        if seen > n or not data.endswith(_NUL):
            raise self._fail(f"output past the last of {n} segments")
        return data

    def _fail(self, why: str) -> MtharnessError:
        procs, errs = self._procs, self._errs
        for p in procs:  # a stage that exited names itself
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(timeout=0.2)
        bad = [(argv[0], p.returncode) for argv, p in zip(self.stages, procs, strict=True) if p.returncode]
        if bad:
            why = f"{bad[0][0]} exit {bad[0][1]}"
        message = _stderr_tail(errs)
        self.close()
        return MtharnessError(f"apertium {self.mode} failed ({why}): {message}")

    def close(self) -> None:
        if self._finalizer is not None:
            self._finalizer()  # closes stdin, waits, kills what is left; runs once
        self._procs, self._errs, self._finalizer = [], [], None


def _ready(fd: int, timeout_s: float) -> bool:
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)
    return bool(poller.poll(max(0, int(timeout_s * 1000))))


def _feed(stdin: IO[bytes] | None, blocks: Sequence[bytes]) -> None:
    if stdin is None:
        return
    try:
        stdin.write(b"".join(block + _NUL for block in blocks))
        stdin.flush()
    except (BrokenPipeError, ValueError, OSError):
        pass  # a stage died; the reader reports it


def _stderr_tail(files: Sequence[IO[bytes]]) -> str:
    for f in files:
        with contextlib.suppress(ValueError, OSError):
            f.seek(0)
            text = f.read().decode("utf-8", "replace").strip()
            if text:
                return text.splitlines()[-1]
    return "no message"


def _stop(procs: Sequence[subprocess.Popen[bytes]], errs: Sequence[IO[bytes]]) -> None:
    """Close the first stdin (each stage then sees end of input in turn) and reap every process."""
    if procs and procs[0].stdin is not None:
        with contextlib.suppress(OSError):
            procs[0].stdin.close()
    if procs and procs[-1].stdout is not None:
        procs[-1].stdout.close()  # what a stage writes at end of input is not wanted; it never blocks
    try:
        for p in procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
    except KeyboardInterrupt:  # Ctrl-C while they stop: stop the rest at once, then let it through
        for p in procs:
            if p.poll() is None:
                p.kill()
        raise
    finally:
        for f in errs:
            f.close()
