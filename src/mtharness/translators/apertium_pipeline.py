"""Apertium's pipeline run stage by stage, so that no segment's translation depends on another's.

``apertium`` translates a stream: segments in one call share the state of its programs. Measured
stage by stage (docs/translators.md, "Apertium isolation"), every stage of the installed modes
resets at a null character (``-z``) except the HMM part-of-speech tagger (``apertium-tagger -g``):
a word whose ambiguity class the model does not know makes it look up a similar class, and that
look-up overwrites the model's open class (the tags an unknown word may take). Every later
unknown word in the stream is then tagged differently, in this segment and in all that follow.

So a call here runs: the stages before the tagger streamed over all segments (``\\0`` after
each), the tagger one segment at a time with ``-d``, which makes it report exactly those look-ups on
stderr (apertium_tagger decides which process may tag a segment), and the stages after it streamed;
the processes stay running across calls (apertium_stream).
The pipeline comes from the mode file through ``apertium-wblank-mode -z``, as ``apertium``
itself builds it, so every installed pair and variant works without a hard-coded stage list.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from mtharness.core import MtharnessError

Argv = tuple[str, ...]
_SPECIAL = re.compile(r"([\\^$\[\]/<>@*#{}])")
_UNESCAPE = re.compile(r"\\(.)|[\[\]]", re.DOTALL)
_NUL = b"\0"


def flatten(text: str) -> str:
    """One line: line breaks, carriage returns and NUL bytes (the stream's block end) become spaces."""
    return text.replace("\r", " ").replace("\n", " ").replace("\x00", " ")


def escape(text: str) -> str:
    """A segment as Apertium stream text: one line, stream characters backslash-escaped."""
    return _SPECIAL.sub(r"\\\1", flatten(text).strip())


def unescape(stream: str) -> str:
    """Stream text back to plain text: escapes undone, format blanks ``[...]`` kept as their content."""
    if "\\" not in stream and "[" not in stream and "]" not in stream:
        return stream
    return _UNESCAPE.sub(lambda m: m.group(1) or "", stream)


def mode_file(mode: str, binary: str = "apertium") -> Path:
    """The installed ``<mode>.mode`` file: $APERTIUM_DATADIR, else next to the ``apertium`` binary."""
    roots = [os.environ.get("APERTIUM_DATADIR", "")]
    exe = shutil.which(binary)
    if exe is not None:
        roots.append(str(Path(exe).resolve().parent.parent / "share" / "apertium"))
    roots.append("/usr/share/apertium")
    for root in filter(None, roots):
        path = Path(root) / "modes" / f"{mode}.mode"
        if path.is_file():
            return path
    raise MtharnessError(f"Apertium mode file {mode}.mode not found under {[r for r in roots if r]}")


def _split_pipeline(line: str) -> list[list[str]]:
    lexer = shlex.shlex(line, posix=True, punctuation_chars="|")
    lexer.whitespace_split = True
    stages: list[list[str]] = [[]]
    for token in lexer:
        if token == "|":
            stages.append([])
        else:
            stages[-1].append(token)
    return [s for s in stages if s]


def _is_hmm_tagger(argv: Sequence[str]) -> bool:
    """``apertium-tagger -g`` without -x/-w/-u: the HMM model, whose open class a stream can change."""
    if Path(argv[0]).name != "apertium-tagger":
        return False
    flags = "".join(a[1:] for a in argv[1:] if a.startswith("-") and not a.startswith("--"))
    return "g" in flags and not set(flags) & {"x", "w", "u"}


@dataclass(frozen=True)
class Pipeline:
    """One mode's stages: ``head`` and ``tail`` streamed, ``tagger`` (if any) isolated per segment."""

    mode: str
    head: tuple[Argv, ...]
    tagger: Argv | None
    tail: tuple[Argv, ...]


def load_pipeline(mode: str, mark_unknown: bool, binary: str = "apertium") -> Pipeline:
    """Parse the mode's pipeline with null-flush on every stage; ``$1`` is -g (marks) or -n (``-u``)."""
    path = mode_file(mode, binary)
    tool = shutil.which("apertium-wblank-mode")
    if tool is None:
        raise MtharnessError(
            "apertium-wblank-mode not found on PATH; reinstall apertium (apt-get install apertium)"
        )
    proc = subprocess.run([tool, "-z", str(path)], capture_output=True, text=True, check=False)
    if proc.returncode != 0 or not proc.stdout.strip():
        raise MtharnessError(f"Apertium mode {mode}: cannot read {path} ({proc.stderr.strip() or 'empty'})")
    subst = {"$1": "-g" if mark_unknown else "-n", "$2": None}
    stages = [
        tuple(a for a in (subst.get(tok, tok) for tok in stage) if a)
        for stage in _split_pipeline(proc.stdout.strip())
    ]
    taggers = [i for i, argv in enumerate(stages) if _is_hmm_tagger(argv)]
    if not taggers:
        return Pipeline(mode, tuple(stages), None, ())
    i = taggers[0]
    tagger = (stages[i][0], "-d", *stages[i][1:])
    return Pipeline(mode, tuple(stages[:i]), tagger, tuple(stages[i + 1 :]))


def _stderr_tail(files: Sequence[IO[bytes]]) -> str:
    for f in files:
        f.seek(0)
        text = f.read().decode("utf-8", "replace").strip()
        if text:
            return text.splitlines()[-1]
    return "no message"


def run_stream(mode: str, stages: Sequence[Argv], blocks: Sequence[bytes], deadline: float) -> list[bytes]:
    """Pipe ``block + \\0`` for every block through the stages at once; one output per block."""
    if not stages:
        return list(blocks)
    with contextlib.ExitStack() as stack:
        errs = [stack.enter_context(tempfile.TemporaryFile()) for _ in stages]
        out, codes = _pipe(mode, stages, blocks, errs, deadline)
        bad = [(argv[0], c) for argv, c in zip(stages, codes, strict=True) if c != 0]
        parts = out.split(_NUL)
        if bad or len(parts) <= len(blocks):
            why = (
                f"{bad[0][0]} exit {bad[0][1]}"
                if bad
                else f"{len(parts) - 1} outputs for {len(blocks)} segments"
            )
            raise MtharnessError(f"apertium {mode} failed ({why}): {_stderr_tail(errs)}")
    return parts[: len(blocks)]


def _pipe(
    mode: str, stages: Sequence[Argv], blocks: Sequence[bytes], errs: Sequence[IO[bytes]], deadline: float
) -> tuple[bytes, list[int]]:
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for argv, err in zip(stages, errs, strict=True):
            stdin = subprocess.PIPE if not procs else procs[-1].stdout
            procs.append(subprocess.Popen(argv, stdin=stdin, stdout=subprocess.PIPE, stderr=err))
            if len(procs) > 1 and procs[-2].stdout is not None:
                procs[-2].stdout.close()  # the next stage owns it now
        feeder = threading.Thread(target=_feed, args=(procs[0].stdin, blocks), daemon=True)
        feeder.start()
        try:
            out, _ = procs[-1].communicate(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            raise MtharnessError(f"apertium {mode} timed out; raise translator.timeout_s") from None
        feeder.join()
        return out, [p.wait() for p in procs]
    except OSError as exc:
        raise MtharnessError(f"apertium {mode}: cannot run a stage ({exc})") from None
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()


def _feed(stdin: IO[bytes] | None, blocks: Sequence[bytes]) -> None:
    if stdin is None:
        return
    try:
        for block in blocks:
            stdin.write(block + _NUL)
        stdin.close()
    except (BrokenPipeError, ValueError):
        pass  # a stage died; its exit code tells
