"""`mtharness env setup comet` / `mtharness env check`: the environments the harness manages."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from mtharness.cli.args import Parser
from mtharness.core import MtharnessError

ENVS = ("comet",)


def _parser() -> argparse.ArgumentParser:
    p = Parser(
        prog="mtharness env",
        description="Managed environments for metrics whose packages conflict with the main one "
        "(COMET: unbabel-comet pins transformers<5). Default location: ~/.cache/mtharness/envs "
        "($XDG_CACHE_HOME), or $MTHARNESS_ENVS_DIR.",
    )
    sub = p.add_subparsers(dest="action", required=True)
    setup = sub.add_parser("setup", help="create an environment with pinned, known-good versions")
    setup.add_argument("name", choices=ENVS)
    setup.add_argument("--envs-dir", help="folder of the environments (overrides $MTHARNESS_ENVS_DIR)")
    setup.add_argument("--force", action="store_true", help="rebuild even if it is already set up")
    setup.add_argument("--quiet", action="store_true", help="show the steps only, not pip's output")
    check = sub.add_parser("check", help="report each environment (exit 0: all ok, 2: missing or broken)")
    check.add_argument("name", nargs="?", choices=ENVS)
    check.add_argument("--envs-dir", help="folder of the environments (overrides $MTHARNESS_ENVS_DIR)")
    return p


def main(argv: Sequence[str]) -> int:
    from mtharness.scoring.comet import env as comet_env

    args = _parser().parse_args(list(argv))
    if args.action == "setup":

        def say(line: str) -> None:
            print(line, file=sys.stderr, flush=True)

        status = comet_env.setup_env(args.envs_dir, say=say, quiet=args.quiet, force=args.force)
        print(status.line())
        return 0
    status = comet_env.check_env(args.envs_dir)
    if not status.ok:
        raise MtharnessError(status.line())
    print(status.line())
    return 0
