"""Any MT command line as a system: segments on stdin, one per line; translations on stdout, one per line.

``argv`` is a list and never goes through a shell; ``{src}`` and ``{tgt}`` inside its items become
the ISO codes of the direction asked for. Two ways to run it:

- one process per translate() call (the default): all segments of the chunk go in at once, the
  process must exit 0 and print exactly as many lines as it was given, within ``timeout_s``;
- ``persistent: true``: one process per direction, started at the first chunk and kept for the run;
  lines are streamed to it and each output line must arrive within ``line_timeout_s``. Such a
  process must flush stdout after every line (``fflush``, ``print(..., flush=True)``,
  ``sed -u``, ``stdbuf -oL``), or the harness waits for output sitting in its buffer.

A line is the unit of alignment, so a segment holding a line break is refused (``newline_token:
null``) or sent with each break replaced by ``newline_token`` (turned back into ``\\n`` on output).

Many tools carry state from one line to the next (Apertium's tagger does, measured), so the
translation of a segment could depend on its neighbours. ``context_free`` records what the user
knows: false unless declared, or unless ``one_per_call`` runs every segment in its own process.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import shlex
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mtharness.core import MtharnessError
from mtharness.translators.base import check_outputs
from mtharness.translators.linepipe import LinePipe, stderr_tail

_BREAKS = ("\r\n", "\n", "\r")


def _argv_list(argv: Sequence[Any] | None) -> list[str]:
    """Strings as given; numbers (Hydra parses ``--beam-size,4`` into an int) as text; booleans refused."""
    if not argv or isinstance(argv, str):
        raise MtharnessError(
            "translator.argv must be a non-empty list, e.g. 'translator.argv=[apertium,-u,{src}-{tgt}]' "
            "(never a shell string)"
        )
    out = []
    for i, item in enumerate(argv):
        if isinstance(item, bool) or not isinstance(item, (str, int, float)):
            raise MtharnessError(
                f"translator.argv[{i}] is {item!r}, not a string; quote it on the command line "
                f"(e.g. 'translator.argv=[\"{str(item).lower()}\"]')"
            )
        out.append(str(item))
    return out


class CommandTranslator:
    """Runs ``argv`` (placeholders filled per direction) as a line-in, line-out translator."""

    def __init__(
        self,
        argv: Sequence[str] | None = None,
        name: str = "command",
        timeout_s: float = 600.0,
        persistent: bool = False,
        line_timeout_s: float = 60.0,
        one_per_call: bool = False,
        context_free: bool | None = None,
        newline_token: str | None = None,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        version: str | None = None,
    ) -> None:
        self.argv = _argv_list(argv)
        if persistent and one_per_call:
            raise MtharnessError("translator.persistent and translator.one_per_call exclude each other")
        if newline_token is not None and (not newline_token or any(b in newline_token for b in _BREAKS)):
            raise MtharnessError("translator.newline_token must be a non-empty string without line breaks")
        self.name = name
        self.timeout_s = float(timeout_s)
        self.persistent = bool(persistent)
        self.line_timeout_s = float(line_timeout_s)
        self.one_per_call = bool(one_per_call)
        self.context_free = bool(one_per_call if context_free is None else context_free)
        self.newline_token = newline_token
        self.env = {str(k): str(v) for k, v in (env or {}).items()}
        self.cwd = cwd
        self.version = version
        self._pipes: dict[tuple[str, str], LinePipe] = {}
        atexit.register(self.close)

    def command(self, src: str, tgt: str) -> list[str]:
        """argv for one direction, the program resolved on PATH (a clear error when it is not there)."""
        argv = [a.replace("{src}", src).replace("{tgt}", tgt) for a in self.argv]
        program = argv[0]
        found = shutil.which(program) if os.sep not in program else program
        if found is None or not Path(found).is_file():
            raise MtharnessError(
                f"translator.argv[0] {program!r} not found (not on PATH / no such file); install it "
                "or give its full path"
            )
        return [found, *argv[1:]]

    def _lines_in(self, texts: Sequence[str]) -> list[str]:
        lines = []
        for i, text in enumerate(texts):
            if any(b in text for b in _BREAKS):
                if self.newline_token is None:
                    raise MtharnessError(
                        f"{self.name}: segment {i + 1} of the chunk holds a line break ({text[:50]!r}...), "
                        "but the command reads one segment per line; set translator.newline_token "
                        "(e.g. ' <br> ') to send breaks as that token"
                    )
                for b in _BREAKS:
                    text = text.replace(b, self.newline_token)
            lines.append(text)
        return lines

    def _lines_out(self, lines: Sequence[str]) -> list[str]:
        out = [line.removesuffix("\r") for line in lines]
        if self.newline_token is not None:
            out = [line.replace(self.newline_token, "\n") for line in out]
        return out

    def translate(self, texts: Sequence[str], src: str, tgt: str) -> list[str]:
        if not texts:
            return []
        lines = self._lines_in(texts)
        argv = self.command(src, tgt)
        if self.persistent:
            outputs = self._pipe(src, tgt, argv).translate(lines)
        elif self.one_per_call:
            outputs = [line for text in lines for line in self._run_once(argv, [text])]
        else:
            outputs = self._run_once(argv, lines)
        return check_outputs(self.name, texts, self._lines_out(outputs))

    def _describe(self, argv: Sequence[str]) -> str:
        return shlex.join([Path(argv[0]).name, *argv[1:]])[:120]

    def _run_once(self, argv: list[str], lines: Sequence[str]) -> list[str]:
        payload = "".join(line + "\n" for line in lines).encode("utf-8")
        what = self._describe(argv)
        try:
            proc = subprocess.run(
                argv,
                input=payload,
                capture_output=True,
                timeout=self.timeout_s,
                check=False,
                env={**os.environ, **self.env},
                cwd=self.cwd,
            )
        except subprocess.TimeoutExpired:
            raise MtharnessError(
                f"command {what!r} timed out after {self.timeout_s:g} s on {len(lines)} lines; "
                "raise translator.timeout_s"
            ) from None
        except OSError as exc:
            raise MtharnessError(f"command {what!r} could not start: {exc.strerror or exc}") from None
        if proc.returncode != 0:
            raise MtharnessError(
                f"command {what!r} failed (exit {proc.returncode}): {stderr_tail(proc.stderr)}"
            )
        try:
            text = proc.stdout.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MtharnessError(f"command {what!r} wrote output that is not UTF-8 ({exc.reason})") from None
        out = text.split("\n")
        if out[-1] == "":
            out.pop()
        if len(out) != len(lines):
            raise MtharnessError(
                f"command {what!r} printed {len(out)} lines for {len(lines)} input lines; it must print "
                "exactly one line per input line"
            )
        return out

    def _pipe(self, src: str, tgt: str, argv: list[str]) -> LinePipe:
        key = (src, tgt)
        pipe = self._pipes.get(key)
        if pipe is None:
            pipe = LinePipe(
                argv, self._describe(argv), self.line_timeout_s, {**os.environ, **self.env}, self.cwd
            )
            self._pipes[key] = pipe
        return pipe

    def identity(self) -> dict[str, Any]:
        """The argv template and how lines are sent decide the outputs; ``version`` is the user's tag."""
        return {
            "backend": "command",
            "argv": list(self.argv),
            # values hashed: an env var may hold a secret, and identities land in scores.json
            "env": {k: hashlib.sha256(v.encode()).hexdigest()[:16] for k, v in sorted(self.env.items())},
            "one_per_call": self.one_per_call,
            "newline_token": self.newline_token,
            "version": self.version,
        }

    def run_info(self) -> dict[str, Any]:
        return {
            "command": {
                "context_free": self.context_free,
                "persistent": self.persistent,
                "one_per_call": self.one_per_call,
            }
        }

    def close(self) -> None:
        """Stop the persistent processes (also at interpreter exit)."""
        for pipe in self._pipes.values():
            pipe.close()
        self._pipes.clear()
