"""What a command prints when it stops: one line and an exit code, never a traceback, for bad input
(``MtharnessError``) and for a failing environment (disk full, read-only folder, out of memory, Ctrl-C).

A bug (any other exception) keeps its traceback: that is what a bug report needs.
"""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Callable
from typing import TypeVar

from mtharness.cli.secrets import redact
from mtharness.core import MtharnessError
from mtharness.textio import describe_os_error

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what a shell reports for a job stopped with Ctrl-C
T = TypeVar("T")


def one_line(exc: BaseException, interrupted: str = "") -> tuple[str, int] | None:
    """(message, exit code) for an exception a user can act on; None for anything else (a bug)."""
    if isinstance(exc, MtharnessError):
        return str(exc).strip().replace("\n", " "), EXIT_USAGE
    if isinstance(exc, KeyboardInterrupt):
        return f"interrupted (Ctrl-C){interrupted}", EXIT_INTERRUPTED
    if isinstance(exc, MemoryError):
        return (
            "out of memory; is a segment unusually long (one line of a whole file?) or the test set too "
            "big for this machine? split the input or use limit=N",
            EXIT_USAGE,
        )
    if isinstance(exc, OSError):
        return describe_os_error(exc), EXIT_USAGE
    if isinstance(exc, sqlite3.Error):
        return f"SQLite: {exc}", EXIT_USAGE
    return None


def report(command: str, exc: BaseException, interrupted: str = "") -> int | None:
    """Print the one line for ``exc`` (``mtharness <command>: error: ...``); its exit code, None for a bug."""
    found = one_line(exc, interrupted)
    if found is None:
        return None
    message, code = found
    message = redact(message)  # a credential typed into an override is never echoed
    prefix = "" if code == EXIT_INTERRUPTED else "error: "
    print(f"mtharness {command}: {prefix}{message}", file=sys.stderr, flush=True)
    return code


def guarded(command: str, func: Callable[[], T], interrupted: str = "") -> T:
    """Call ``func``; a user-facing failure prints its one line and exits with its code."""
    try:
        return func()
    except (MtharnessError, KeyboardInterrupt, MemoryError, OSError, sqlite3.Error) as exc:
        code = report(command, exc, interrupted)
        if code is None:  # pragma: no cover - the except clause lists exactly what one_line handles
            raise
        raise SystemExit(code) from None
