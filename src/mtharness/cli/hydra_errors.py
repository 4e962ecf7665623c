"""Hydra's errors as one line and exit 2, like every other command's usage errors.

Hydra reports a bad override (`limt=5`, `translator=nope`, `limit=5=`) in several lines plus a hint
about HYDRA_FULL_ERROR, and exits 1, which the gate reserves for "the check failed". We let Hydra
raise instead (HYDRA_FULL_ERROR=1 for the duration of the call, unless the user set it to see the
full trace) and turn what it raises into one line here. Hydra's own flags are checked first by a
copy of its argument parser whose errors are one line too.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from types import MethodType
from typing import Any

from mtharness.cli.args import Parser
from mtharness.core import MtharnessError

_NOISE: tuple[str, ...] = ("See https://", "Set the environment variable HYDRA_FULL_ERROR", "full_key:")
_NOISE += ("object_type=", "reference_type=", "provider=")
HINT = "(`mtharness run --cfg job` prints the composed config; see `mtharness run --help`)"


def check_hydra_flags(argv: Sequence[str]) -> None:
    """Hydra's command-line flags (--cfg, -m, --config-dir ...) checked with one-line errors."""
    try:
        from hydra._internal.utils import get_args_parser  # the parser hydra.main itself uses
    except ImportError:  # a Hydra without it: Hydra's own (multi-line) errors still exit 2
        return
    parser = get_args_parser()
    parser.prog = "mtharness run"
    parser.error = MethodType(Parser.error, parser)  # type: ignore[method-assign]
    parser.parse_args(list(argv))


def _lines(text: str) -> Iterator[str]:
    """Meaningful lines; a tab-indented list (Hydra's available options) joined onto its header."""
    parts: list[str] = []
    skipping = False
    for raw in text.splitlines():
        line = raw.strip()
        if raw.startswith("\t"):
            if parts and not skipping:
                parts[-1] += (" " if parts[-1].endswith(":") else ", ") + line
            continue
        skipping = line.startswith("Config search path")
        if line and not skipping and not line.startswith(_NOISE):
            parts.append(line)
    yield from parts


def one_line(exc: BaseException) -> str:
    """Hydra's (and OmegaConf's) message for ``exc`` as a single line with a hint."""
    from omegaconf.errors import OmegaConfBaseException

    text = str(exc)
    cause = exc.__cause__
    if isinstance(cause, OmegaConfBaseException) and "not in struct" in str(cause):
        key = getattr(cause, "full_key", None) or ""
        append = re.search(r"use (\+\S+)", text)
        added = f" (to add a new key on purpose: {append.group(1)})" if append else ""
        return f"unknown config key {key!r}: a typo?{added} {HINT}"
    if isinstance(cause, OmegaConfBaseException):
        text += "\n" + str(cause)
    joined = " ".join(p if p.endswith((".", ":")) else p + ";" for p in _lines(text)).rstrip(";")
    return f"{joined} {HINT}"


def _converted() -> tuple[type[BaseException], ...]:
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    return (HydraException, OmegaConfBaseException)


@contextmanager
def _full_errors() -> Iterator[bool]:
    """HYDRA_FULL_ERROR=1 inside; True when the user had asked for full traces themselves."""
    before = os.environ.get("HYDRA_FULL_ERROR")
    os.environ["HYDRA_FULL_ERROR"] = "1"
    try:
        yield before not in (None, "", "0")
    finally:
        if before is None:
            os.environ.pop("HYDRA_FULL_ERROR", None)
        else:
            os.environ["HYDRA_FULL_ERROR"] = before


def call_hydra(app: Callable[[], Any]) -> None:
    """Run a @hydra.main app; Hydra's config errors become MtharnessError (one line, exit 2)."""
    with _full_errors() as user_wants_trace:
        try:
            app()
        except _converted() as exc:
            if user_wants_trace:
                raise
            raise MtharnessError(one_line(exc)) from None
