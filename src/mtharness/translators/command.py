"""Any MT command line as a system: segments on stdin, one per line; translations on stdout, one per line.

``argv`` is a list, or one string split into words the way a shell would (``shlex``), and never
goes through a shell. Placeholders inside its items become the codes of the direction asked for:
``{src}``/``{tgt}`` (ISO 639-1, ``en``), ``{src3}``/``{tgt3}`` (ISO 639-3 as Apertium names its
pairs, ``eng``) and ``{src_flores}``/``{tgt_flores}`` (FLORES-200/NLLB, ``eng_Latn``). Two ways to
run it:

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
import re
import shlex
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mtharness.core import MtharnessError
from mtharness.translators.apertium import ISO_TO_APERTIUM
from mtharness.translators.base import check_outputs
from mtharness.translators.linepipe import LinePipe, stderr_tail
from mtharness.translators.seq2seq import NLLB_CODES

_BREAKS = ("\r\n", "\n", "\r")
_SPACES = re.compile(r"\s+")
# Hydra reads {...} as a dictionary, so a value holding placeholders is quoted for Hydra too
ARGV_EXAMPLE = "'translator.argv=\"apertium -u {src3}-{tgt3}\"'"


def lang_codes(src: str, tgt: str) -> dict[str, str]:
    """The placeholders of one direction: ISO 639-1, ISO 639-3 (Apertium's pair names), FLORES-200."""
    codes = {"src": src, "tgt": tgt}
    for side, lang in (("src", src), ("tgt", tgt)):
        iso3 = ISO_TO_APERTIUM.get(lang, (lang,))[0]
        codes[f"{side}3"] = iso3 if len(iso3) == 3 else ""
        codes[f"{side}_flores"] = NLLB_CODES.get(lang, lang if "_" in lang else "")
    return codes


def fill(item: str, codes: dict[str, str]) -> str:
    """One argv item with its placeholders replaced; a code this table lacks is one clear error."""
    for key, value in codes.items():
        if "{" + key + "}" in item:
            if not value:
                lang = codes[key.removesuffix("3").removesuffix("_flores")]
                raise MtharnessError(
                    f"translator.argv: no code known for {{{key}}} of language {lang!r}; write the code "
                    "into translator.argv yourself"
                )
            item = item.replace("{" + key + "}", value)
    return item


def _argv_list(argv: Sequence[Any] | str | None) -> list[str]:
    """Strings as given; numbers (Hydra parses ``--beam-size,4`` into an int) as text; booleans refused.

    One string is split into words as a shell would split it (quotes group words), but no shell runs.
    """
    if isinstance(argv, str):
        try:
            argv = shlex.split(argv)
        except ValueError as exc:
            raise MtharnessError(f"translator.argv {argv!r}: {exc} (unbalanced quotes?)") from None
    if not argv:
        raise MtharnessError(
            f"translator.argv must name a program, e.g. {ARGV_EXAMPLE} or "
            "'translator.argv=[apertium,-u,\"{src3}-{tgt3}\"]' (Hydra needs the inner quotes around {...})"
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
        argv: Sequence[str] | str | None = None,
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
        normalize_spaces: bool = False,
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
        self.normalize_spaces = bool(normalize_spaces)
        self._pipes: dict[tuple[str, str], LinePipe] = {}
        atexit.register(self.close)

    def command(self, src: str, tgt: str) -> list[str]:
        """argv for one direction, the program resolved on PATH (a clear error when it is not there)."""
        codes = lang_codes(src, tgt)
        argv = [fill(a, codes) for a in self.argv]
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
        if self.normalize_spaces:  # what translator=apertium does: runs of spaces as one, none at the ends
            out = ["\n".join(_SPACES.sub(" ", part).strip() for part in line.split("\n")) for line in out]
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
            **({"normalize_spaces": True} if self.normalize_spaces else {}),
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
