"""The HMM tagger of an Apertium pipeline, run so that each segment gets the tags it gets alone.

See apertium_pipeline for why only this stage needs it: its open class is the one piece of state
that a stream carries from one segment into the next.
"""

from __future__ import annotations

import os
import re
import subprocess
import threading
import time
from collections.abc import Sequence
from typing import IO

from mtharness.core import MtharnessError
from mtharness.translators.apertium_pipeline import Argv, unescape

_NUL = b"\0"
_SMALL_WRITE = 32 * 1024  # below the pipe's capacity: one blocking write never waits on the reader


class IsolatedTagger:
    """The HMM tagger, one segment at a time, giving each segment the tags it gets alone.

    What the tagger carries from one segment to the next is its open class, and only two kinds of
    word read it: unknown words (analysis ``*``) and words of an ambiguity class the model does
    not know, which ``-d`` reports on stderr, in order, each with its class. Such a report means
    the open class became the smallest known class containing the reported one (``S_c``). So a
    segment tagged on a process that is not fresh is kept only when that provably changed nothing:
    it has neither kind of word, or every report names the class ``c`` the process is already at
    (looking ``c`` up again from ``S_c`` finds ``S_c``) and every unknown word comes after the
    first such word (alone, it would see ``S_c`` there too). Otherwise a fresh process (one that no
    reporting segment has reached) tags it; when that one reports, it becomes the used process.
    Two processes at most; ``starts`` counts the processes started.
    """

    def __init__(self, mode: str, argv: Argv) -> None:
        self.mode = mode
        self.argv = argv
        self.starts = 0

    def tag(self, blocks: Sequence[bytes], deadline: float) -> list[bytes]:
        """Each block tried on the used process (if any), kept if provably unchanged, else fresh."""
        outputs: list[bytes] = []
        fresh: subprocess.Popen[bytes] | None = None  # no segment has changed its open class
        used: tuple[subprocess.Popen[bytes], TaggerState] | None = None  # one in a known changed state
        try:
            for block in blocks:
                if used is not None:
                    out, report = self._exchange(used[0], block, deadline)
                    if unchanged(used[1], block, report):
                        outputs.append(out)
                        continue
                    if report:  # it may have changed again: from now on only untouchable segments
                        used = (used[0], MIXED)
                if fresh is None:
                    fresh = self._start()
                out, report = self._exchange(fresh, block, deadline)
                outputs.append(out)
                state = state_after(report)
                if state != PRISTINE:
                    if used is not None:
                        self._stop(used[0])
                    used, fresh = (fresh, state), None
        finally:
            for proc in (fresh, used[0] if used else None):
                if proc is not None:
                    self._stop(proc)
        return outputs

    def _start(self) -> subprocess.Popen[bytes]:
        self.starts += 1
        try:
            proc = subprocess.Popen(
                self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0
            )
        except OSError as exc:
            raise MtharnessError(f"apertium {self.mode}: cannot start {self.argv[0]} ({exc})") from None
        assert proc.stderr is not None
        os.set_blocking(proc.stderr.fileno(), False)
        return proc

    @staticmethod
    def _stop(proc: subprocess.Popen[bytes]) -> None:
        for f in (proc.stdin, proc.stdout, proc.stderr):
            if f is not None:
                f.close()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def _exchange(self, proc: subprocess.Popen[bytes], block: bytes, deadline: float) -> tuple[bytes, bytes]:
        """Write one block, read its output up to the ``\\0``, and what the tagger reported meanwhile."""
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        writer = None
        try:
            if len(block) < _SMALL_WRITE:
                proc.stdin.write(block + _NUL)
            else:  # a long segment: write while its output is read, or both sides block
                writer = threading.Thread(target=_write, args=(proc.stdin, block + _NUL), daemon=True)
                writer.start()
            out = self._read_block(proc, deadline)
        except BrokenPipeError:
            out = None
        if writer is not None:
            writer.join()
        if out is None:
            proc.wait()
            message = (proc.stderr.read() or b"").decode("utf-8", "replace").strip().splitlines() or [
                "no message"
            ]
            raise MtharnessError(
                f"apertium {self.mode}: {self.argv[0]} stopped (exit {proc.returncode}): {message[-1]}"
            )
        report = proc.stderr.read()  # non-blocking: None when nothing was reported
        return out, report or b""

    def _read_block(self, proc: subprocess.Popen[bytes], deadline: float) -> bytes | None:
        assert proc.stdout is not None
        fd = proc.stdout.fileno()
        chunks: list[bytes] = []
        while True:
            if time.monotonic() > deadline:
                proc.kill()
                raise MtharnessError(f"apertium {self.mode} timed out; raise translator.timeout_s")
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                return None
            chunks.append(chunk)
            if _NUL in chunk:
                data = b"".join(chunks)
                end = data.index(_NUL)
                if end != len(data) - 1:
                    raise MtharnessError(f"apertium {self.mode}: the tagger wrote past a segment's end")
                return data[:end]


TaggerState = tuple[str, bytes]
PRISTINE: TaggerState = ("pristine", b"")
MIXED: TaggerState = ("mixed", b"")
_REPORT = re.compile(rb"Word '(.*)'\.\s*\nNew ambiguity class: (\{[^}\n]*\})")
_REPORT_LINES = (
    b"Error: A new ambiguity class was found",
    b"Retraining the tagger",
    b"Word '",
    b"New ambiguity class:",
)
_UNIT = re.compile(rb"\^((?:[^/\\$^]|\\.)*)/((?:[^$\\^]|\\.)*)\$")


def _reports(report: bytes) -> list[tuple[bytes, bytes]] | None:
    """(word, class) per reported look-up; None if stderr holds anything else (then trust nothing)."""
    lines = [line.strip() for line in report.splitlines() if line.strip()]
    if any(not line.startswith(_REPORT_LINES) for line in lines):
        return None
    found = _REPORT.findall(report)
    if sum(line.startswith(b"New ambiguity class:") for line in lines) != len(found):
        return None
    return found


def state_after(report: bytes) -> TaggerState:
    """The open class after a segment tagged from a fresh process: untouched, ``S_c``, or unknown."""
    found = _reports(report)
    if found == []:
        return PRISTINE
    if found is None or len({c for _, c in found}) != 1:
        return MIXED
    return ("class", found[0][1])


def unchanged(state: TaggerState, block: bytes, report: bytes) -> bool:
    """True if a segment tagged from ``state`` provably got the tags it gets from a fresh process."""
    found = _reports(report)
    units = _UNIT.findall(block)
    unknown = [i for i, (_, analyses) in enumerate(units) if analyses.startswith(b"*")]
    if found is None:
        return False
    if not found:
        return not unknown
    if state[0] != "class" or any(c != state[1] for _, c in found):
        return False
    if not unknown:
        return True
    first = [
        i
        for i, (surface, _) in enumerate(units)
        if unescape(surface.decode("utf-8", "replace")).encode() == found[0][0]
    ]
    return bool(first) and min(unknown) > max(first)


def _write(stdin: IO[bytes], data: bytes) -> None:
    view = memoryview(data)
    try:
        while view:
            view = view[os.write(stdin.fileno(), view) :]
    except (BrokenPipeError, ValueError, OSError):
        pass  # the tagger died; the reader reports it
