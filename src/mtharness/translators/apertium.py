"""Apertium, Debian's rule-based MT engine, run as a subprocess (argv list, text on stdin, no shell)."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

from mtharness.core import MtharnessError
from mtharness.translators.base import TranslatorBase, check_outputs

# ISO 639-1 (and a few 639-3) codes -> the codes Apertium's modes use, most likely first
ISO_TO_APERTIUM: dict[str, tuple[str, ...]] = {
    "en": ("eng", "en"),
    "es": ("spa", "es"),
    "ca": ("cat", "ca"),
    "gl": ("glg", "gl"),
    "eo": ("epo", "eo"),
    "eu": ("eus", "eu"),
    "is": ("isl", "is"),
    "mk": ("mkd", "mk"),
    "sh": ("hbs", "sh"),
    "hbs": ("hbs",),
    "fr": ("fra", "fr"),
    "pt": ("por", "pt"),
    "it": ("ita", "it"),
    "oc": ("oci", "oc"),
    "ro": ("ron", "ro"),
    "de": ("deu", "de"),
    "nl": ("nld", "nl"),
    "sv": ("swe", "sv"),
    "da": ("dan", "da"),
    "nb": ("nob", "nb"),
    "nn": ("nno", "nn"),
}
_SPACES = re.compile(r"[ \t]+")
_SENTINEL = "0"  # a number passes through every Apertium pair unchanged


def apertium_codes(lang: str) -> tuple[str, ...]:
    return ISO_TO_APERTIUM.get(lang, (lang,))


@cache
def installed_modes(binary: str = "apertium") -> tuple[str, ...]:
    """Modes Apertium reports with ``apertium -l`` (e.g. eng-spa, spa-eng)."""
    exe = shutil.which(binary)
    if exe is None:
        raise MtharnessError(
            f"Apertium binary {binary!r} not found on PATH; install it: apt-get install apertium apertium-eng-spa"
        )
    proc = subprocess.run([exe, "-l"], capture_output=True, text=True, check=False)
    return tuple(sorted({line.strip() for line in proc.stdout.splitlines() if line.strip()}))


def resolve_mode(src: str, tgt: str, modes: Sequence[str], overrides: Mapping[str, str] | None = None) -> str:
    """Map an ISO pair (en, es) to an installed Apertium mode (eng-spa)."""
    key = f"{src}-{tgt}"
    if overrides and key in overrides:
        return overrides[key]
    for a in apertium_codes(src):
        for b in apertium_codes(tgt):
            if f"{a}-{b}" in modes:
                return f"{a}-{b}"
    a, b = apertium_codes(src)[0], apertium_codes(tgt)[0]
    raise MtharnessError(
        f"Apertium has no {key} mode installed (looked for {a}-{b}); install the pair, e.g. "
        f"apt-get install apertium-{a}-{b} (or apertium-{b}-{a}; apt-cache search apertium lists them)"
    )


class ApertiumTranslator(TranslatorBase):
    """One Apertium process per call; one output line per input line, whitespace normalised."""

    def __init__(
        self,
        name: str = "apertium",
        binary: str = "apertium",
        mark_unknown: bool = False,
        modes: Mapping[str, str] | None = None,
        timeout_s: float = 600.0,
    ) -> None:
        self.name = name
        self.binary = binary
        self.mark_unknown = mark_unknown
        self.mode_overrides = dict(modes or {})
        self.timeout_s = timeout_s

    def mode(self, src: str, tgt: str) -> str:
        return resolve_mode(src, tgt, installed_modes(self.binary), self.mode_overrides)

    def translate(self, texts: Sequence[str], src: str, tgt: str) -> list[str]:
        if not texts:
            return []
        mode = self.mode(src, tgt)
        outputs = self._run_blocks(mode, texts)
        if outputs is None:  # layout not kept (never seen, but alignment is sacred): one call per segment
            outputs = []
            for text in texts:
                single = self._run_blocks(mode, [text])
                outputs.append(single[0] if single else "")
        return check_outputs(self.name, texts, [_SPACES.sub(" ", line).strip() for line in outputs])

    def _run_blocks(self, mode: str, texts: Sequence[str]) -> list[str] | None:
        """Translate segments separated by blank lines; None if the output lost that layout.

        Apertium treats a single newline as a space, so "AIR\nEnd." would be translated as one
        phrase and words would move across lines; a blank line is a hard block boundary. A final
        sentinel block keeps trailing empty segments from being trimmed.
        """
        blocks = [t.replace("\r", " ").replace("\n", " ").replace("\x00", "").strip() for t in texts]
        payload = "\n\n".join([*blocks, _SENTINEL]) + "\n"
        argv = [self.binary, *([] if self.mark_unknown else ["-u"]), mode]
        try:
            proc = subprocess.run(
                argv, input=payload, capture_output=True, text=True, timeout=self.timeout_s, check=False
            )
        except subprocess.TimeoutExpired:
            raise MtharnessError(
                f"apertium {mode} timed out after {self.timeout_s:.0f} s; raise translator.timeout_s"
            ) from None
        if proc.returncode != 0:
            err = (proc.stderr.strip().splitlines() or ["no message"])[-1]
            raise MtharnessError(f"apertium {mode} failed (exit {proc.returncode}): {err}")
        lines = proc.stdout.removesuffix("\n").split("\n")
        if len(lines) != 2 * len(blocks) + 1 or any(line.strip() for line in lines[1::2]):
            return None
        return lines[0:-1:2]

    def identity(self) -> dict[str, Any]:
        return {
            "backend": "apertium",
            "mark_unknown": self.mark_unknown,
            "modes": self.mode_overrides,
            "version": apertium_version(self.binary),
        }


@cache
def apertium_version(binary: str = "apertium") -> str:
    """Installed package versions decide the outputs; they key the translation cache."""
    dpkg = shutil.which("dpkg-query")
    if dpkg is None:
        return "unknown"
    proc = subprocess.run(
        [dpkg, "-W", "-f=${Package}=${Version}\\n", "apertium*"], capture_output=True, text=True, check=False
    )
    return ",".join(sorted(line for line in proc.stdout.split() if line and not line.endswith("=")))
