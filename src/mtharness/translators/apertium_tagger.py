"""The HMM tagger of an Apertium pipeline, run so that each segment gets the tags it gets alone.

See apertium_pipeline for why only this stage needs it: its open class is the one piece of state
that a stream carries from one segment into the next.
"""

from __future__ import annotations

import os
import re
import select
import subprocess
import threading
import time
import weakref
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
    not know, which ``-d`` reports on stderr, in order, each with its class. Which words report does
    not depend on the process's state (a word's class comes from its analyses), so one try on any
    process tells what a segment needs. A report of ``c`` sets the open class to the smallest
    known class containing ``c`` (``S_c``); looking ``c`` up again from ``S_c`` finds ``S_c``.
    So a segment's output is kept when the process was fresh, or when it provably saw what a fresh
    one would: no report and no unknown word, or a first report naming the class ``c`` of a process
    at ``S_c`` with every unknown word after that first reported word. Otherwise it is tagged again
    on the process that fits: one at ``S_c``, else a fresh one (one that no reporting segment has
    reached). Processes live until close(): one fresh, and one per state reached (at most
    ``MAX_USED``); ``starts`` counts the processes started. Every segment's try on a process moves
    that process's known state (a state it can no longer name makes it MIXED: no unknown words).
    """

    MAX_USED = 8

    def __init__(self, mode: str, argv: Argv) -> None:
        self.mode = mode
        self.argv = argv
        self.starts = 0
        self._fresh: subprocess.Popen[bytes] | None = None
        self._used: dict[TaggerState, subprocess.Popen[bytes]] = {}  # oldest first
        self._live: dict[int, subprocess.Popen[bytes]] = {}  # every running process, for close()
        self._memo: dict[bytes, bytes] = {}  # word -> the class it reported: where to try first
        self._finalizer = weakref.finalize(self, _stop_all, self._live)

    def tag(self, blocks: Sequence[bytes], deadline: float) -> list[bytes]:
        """Each block's tagger output, as a fresh tagger gives it."""
        try:
            return [self._tag_one(block, deadline) for block in blocks]
        except BaseException:
            self.close()  # a process left mid-segment is in no known state
            raise

    def close(self) -> None:
        self._finalizer()
        self._fresh, self._used = None, {}
        self._finalizer = weakref.finalize(self, _stop_all, self._live)

    def _tag_one(self, block: bytes, deadline: float) -> bytes:
        words = Words(block)
        state, proc = self._choose(words, self._predict(words))
        out, report = self._exchange(proc, block, deadline)
        self._moved(state, proc, report)
        if state == PRISTINE or words.unchanged(state, report):
            return out
        state, proc = self._choose(words, _reports(report))  # now known: what this segment reports
        out, report = self._exchange(proc, block, deadline)
        self._moved(state, proc, report)
        if state == PRISTINE or words.unchanged(state, report):
            return out
        state, proc = PRISTINE, self._fresh_process()
        out, report = self._exchange(proc, block, deadline)
        self._moved(state, proc, report)
        return out

    def _predict(self, words: Words) -> list[tuple[bytes, bytes]]:
        """The reports expected from words that reported before (a guess: a wrong one costs a retry)."""
        return [(w, self._memo[w]) for w in words.surfaces if w in self._memo][:1]

    def _choose(
        self, words: Words, found: list[tuple[bytes, bytes]] | None
    ) -> tuple[TaggerState, subprocess.Popen[bytes]]:
        """The process on which a segment with these reports gets its fresh output, sparing fresh ones."""
        if found is not None and not words.unknown and not found and self._used:
            state = MIXED if MIXED in self._used else next(reversed(self._used))
            return state, self._used[state]
        if found:
            state = ("class", found[0][1])
            if state in self._used and words.after_first_report(found):
                return state, self._used[state]
        return PRISTINE, self._fresh_process()

    def _fresh_process(self) -> subprocess.Popen[bytes]:
        if self._fresh is None:
            self._fresh = self._start()
        return self._fresh

    def _moved(self, state: TaggerState, proc: subprocess.Popen[bytes], report: bytes) -> None:
        """Record the state ``proc`` reached from ``state``; keep one process per state."""
        for word, cls in _reports(report) or []:
            self._memo[word] = cls
        after = next_state(state, report)
        if after == state:
            return
        if state == PRISTINE:
            self._fresh = None
        else:
            del self._used[state]
        old = self._used.pop(after, None)
        if old is not None:
            self._stop(old)
        self._used[after] = proc
        if len(self._used) > self.MAX_USED:
            self._stop(self._used.pop(next(iter(self._used))))

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
        self._live[proc.pid] = proc
        return proc

    def _stop(self, proc: subprocess.Popen[bytes]) -> None:
        _stop_all({proc.pid: self._live.pop(proc.pid, proc)})

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
            if not _ready(fd, deadline - time.monotonic()):
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


def next_state(state: TaggerState, report: bytes) -> TaggerState:
    """The open class after a segment tagged from ``state``: the same, ``S_c``, or one not named (MIXED)."""
    found = _reports(report)
    if found == []:
        return state
    if found is None or state == MIXED:
        return MIXED
    classes = {c for _, c in found} | ({state[1]} if state[0] == "class" else set())
    return ("class", found[0][1]) if len(classes) == 1 else MIXED


def state_after(report: bytes) -> TaggerState:
    """The open class after a segment tagged from a fresh process: untouched, ``S_c``, or unknown."""
    return next_state(PRISTINE, report)


class Words:
    """A segment's analysed words: their surface forms and which are unknown (``*``)."""

    def __init__(self, block: bytes) -> None:
        units = _UNIT.findall(block)
        self.surfaces = [unescape(s.decode("utf-8", "replace")).encode() for s, _ in units]
        self.unknown = [i for i, (_, analyses) in enumerate(units) if analyses.startswith(b"*")]

    def after_first_report(self, found: list[tuple[bytes, bytes]]) -> bool:
        """Every unknown word comes after every word spelt like the first reported one."""
        if not self.unknown:
            return True
        first = [i for i, s in enumerate(self.surfaces) if s == found[0][0]]
        return bool(first) and min(self.unknown) > max(first)

    def unchanged(self, state: TaggerState, report: bytes) -> bool:
        """True if tagged from ``state`` (not fresh) the segment provably got what a fresh tagger gives.

        From ``S_c``, a first report of ``c`` finds ``S_c`` again, so every later word sees what it
        sees from a fresh process; unknown words before it would have seen the full open class.
        """
        found = _reports(report)
        if found is None:
            return False
        if not found:
            return not self.unknown
        return state == ("class", found[0][1]) and self.after_first_report(found)


def unchanged(state: TaggerState, block: bytes, report: bytes) -> bool:
    """True if a segment tagged from ``state`` provably got the tags it gets from a fresh process."""
    return state == PRISTINE or Words(block).unchanged(state, report)


def _ready(fd: int, timeout_s: float) -> bool:
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)
    return bool(poller.poll(max(0, int(timeout_s * 1000))))


def _stop_all(procs: dict[int, subprocess.Popen[bytes]]) -> None:
    """Close each process's pipes (a tagger exits at end of input) and reap it."""
    while procs:
        _, proc = procs.popitem()
        for f in (proc.stdin, proc.stdout, proc.stderr):
            if f is not None:
                f.close()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _write(stdin: IO[bytes], data: bytes) -> None:
    view = memoryview(data)
    try:
        while view:
            view = view[os.write(stdin.fileno(), view) :]
    except (BrokenPipeError, ValueError, OSError):
        pass  # the tagger died; the reader reports it
