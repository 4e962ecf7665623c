"""`mtharness leaderboard RESULTS_DIR`: every run's scores in one table per dataset and pair."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from mtharness.cli.args import Parser, add_json, add_warn_rates, text_stream, write_json
from mtharness.cli.outputs import check_outputs
from mtharness.core import MtharnessError


def leaderboard_main(argv: Sequence[str]) -> int:
    """Write leaderboard.md/.csv (and --json): one row per system identity, newest run, with CIs."""
    from mtharness.reports.leaderboard import write_leaderboard

    p = Parser(
        prog="mtharness leaderboard",
        description="Collect every scores.json under a folder into leaderboard.md and .csv: one row per "
        "system (translator settings + data + metric signatures), scores with 95% bootstrap CIs, copy "
        "and off-target rates.",
    )
    p.add_argument("results_dir", nargs="?", default="results", help="folder to search (default: results)")
    p.add_argument("--out", help="folder for leaderboard.md/.csv (default: RESULTS_DIR)")
    p.add_argument(
        "--all", action="store_true", help="every run, not just the newest run of each system identity"
    )
    p.add_argument(
        "--ci-n",
        type=int,
        default=1000,
        help="bootstrap resamples for the 95%% CIs of BLEU and chrF, read from each shown run's "
        "segments.jsonl (default 1000; 0: no CIs, reads scores.json only, fastest)",
    )
    add_warn_rates(p)
    add_json(p, "the leaderboard (one row per run and group)")
    args = p.parse_args(list(argv))
    root = Path(args.results_dir)
    read = [*root.rglob("scores.json"), *root.rglob("segments.jsonl")] if root.is_dir() else []
    check_outputs({"--json": args.json}, read)
    if args.ci_n < 0:
        raise MtharnessError("--ci-n must be 0 (no CIs) or a number of resamples")
    info = write_leaderboard(
        args.results_dir, args.out, args.all, args.ci_n, args.copy_warn, args.off_target_warn
    )
    for note in info["skipped"]:
        print(f"skipped {note}", file=sys.stderr)
    for note in info["notes"]:
        print(f"note: {note}", file=sys.stderr)
    write_json(args.json, info["payload"])
    hidden = info["runs"] - info["shown"]
    older = f" ({hidden} older run(s) of the same systems not shown; --all lists them)" if hidden else ""
    print(
        f"{info['runs']} runs, {info['shown']} rows in {info['groups']} dataset group(s){older}: "
        f"{info['markdown']} {info['csv']}",
        file=text_stream(args),
    )
    return 0
