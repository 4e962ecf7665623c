"""Command line entry point `mtharness <command> ...`: the Hydra app (`run`) and argparse subcommands.

Parsing and printing only; subcommands import lazily, so --help is fast.
"""

from __future__ import annotations

import importlib
import os
import sqlite3
import sys
from collections.abc import Sequence

from mtharness import __version__
from mtharness.cli.failures import report
from mtharness.core import MtharnessError

# command -> (module, function, one-line help). Each function takes argv and returns an exit code.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "run": (
        "mtharness.cli.run",
        "main",
        "translate and score one config (Hydra: key=value overrides, -m sweeps)",
    ),
    "compare": (
        "mtharness.cli.compare",
        "main",
        "compare systems or runs: scores, CIs, paired tests, human correlation, HTML",
    ),
    "meta-eval": (
        "mtharness.cli.meta_eval",
        "main",
        "which metric agrees with human judgments: WMT statistics, significance clusters (MTME)",
    ),
    "leaderboard": (
        "mtharness.cli.leaderboard",
        "leaderboard_main",
        "collect every run under a folder into leaderboard.md/.csv",
    ),
    "report": ("mtharness.cli.compare", "report_main", "self-contained HTML report of one finished run"),
    "serve": (
        "mtharness.cli.serve",
        "main",
        "browse run folders in a local, read-only web app: runs, scores, comparisons, segments",
    ),
    "track": (
        "mtharness.cli.track",
        "main",
        "log finished runs to MLflow or Weights & Biases (idempotent)",
    ),
    "align": (
        "mtharness.cli.align",
        "align_main",
        "align a garbled article with its original paragraph by paragraph and score it",
    ),
    "rtt-correlation": (
        "mtharness.cli.rtt",
        "rtt_main",
        "correlate round-trip metrics with a forward metric across systems (run folders)",
    ),
    "gate": (
        "mtharness.cli.gate",
        "gate_main",
        "CI regression gate: current run vs a baseline (exit 0 pass, 1 regression, 2 error)",
    ),
    "baseline": ("mtharness.cli.gate", "baseline_main", "save, refresh or show a gate baseline file"),
    "datasets": (
        "mtharness.cli.datasets",
        "main",
        "list the named test sets on this machine (data root and sacrebleu's cache)",
    ),
    "env": (
        "mtharness.cli.env",
        "main",
        "set up or check managed environments (`env setup comet`, `env check`)",
    ),
}


def usage() -> str:
    width = max(len(c) for c in COMMANDS)
    rows = "\n".join(f"  {name:<{width}}  {help_}" for name, (_, _, help_) in COMMANDS.items())
    return (
        f"usage: mtharness <command> [args]   (mtharness {__version__})\n\ncommands:\n{rows}\n\n"
        "`mtharness <command> --help` shows each command's options."
    )


def main(argv: Sequence[str] | None = None) -> int:
    try:
        try:
            code = dispatch(list(sys.argv[1:] if argv is None else argv))
        except SystemExit:  # argparse's --help and usage errors: flush what they printed first
            sys.stdout.flush()
            raise
        sys.stdout.flush()  # a closed pipe shows here, not as a warning at interpreter exit
        return code
    except BrokenPipeError:
        return broken_pipe()


def dispatch(args: list[str]) -> int:
    if not args or args[0] in ("-h", "--help", "help"):
        print(usage())
        return 0
    if args[0] == "--version":
        print(f"mtharness {__version__}")
        return 0
    command = args[0]
    if command not in COMMANDS:
        known = ", ".join(COMMANDS)
        print(
            f"mtharness: error: unknown command {command!r}; commands: {known} (see `mtharness --help`)",
            file=sys.stderr,
        )
        return 2
    module_name, func_name, _ = COMMANDS[command]
    func = getattr(importlib.import_module(module_name), func_name)
    try:
        return int(func(args[1:]) or 0)
    except (MtharnessError, KeyboardInterrupt, MemoryError, OSError, sqlite3.Error) as exc:
        if isinstance(exc, BrokenPipeError):
            raise  # the caller's broken-pipe handling (exit 141, no output)
        code = report(command, exc)  # one line for bad input and a failing environment; bugs keep a traceback
        if code is None:
            raise
        return code


# what a shell reports for a command killed by SIGPIPE (`yes | head -1`): the reader went away
BROKEN_PIPE_EXIT = 141


def broken_pipe() -> int:
    """`mtharness compare -h | head -1`: the reader closed the pipe; stop quietly, no traceback.

    stdout is pointed at /dev/null so the interpreter's final flush cannot fail again.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return BROKEN_PIPE_EXIT
