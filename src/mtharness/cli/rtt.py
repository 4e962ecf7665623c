"""`mtharness rtt-correlation`: the argparse front end of compare/rtt.py."""

from __future__ import annotations

from collections.abc import Sequence

from mtharness.cli.args import Parser, add_json, text_stream, write_json


def rtt_main(argv: Sequence[str]) -> int:
    from mtharness.compare.rtt import format_report, rtt_correlation

    parser = Parser(
        prog="mtharness rtt-correlation",
        description="Correlate each round-trip metric with a forward metric across systems (runs of "
        "different systems on the same data with references): can the round trip stand in for references?",
    )
    parser.add_argument("runs", nargs="+", help="run folders, or a sweep/results folder holding them")
    parser.add_argument(
        "--forward", default="chrF2", help="forward metric: a score name or any metric name (default chrF2)"
    )
    add_json(parser, "the report")
    parser.add_argument("--output", dest="json", metavar="FILE", help="the same as --json FILE (older name)")
    args = parser.parse_args(list(argv))
    report = rtt_correlation(args.runs, args.forward)
    write_json(args.json, report)
    print(format_report(report), file=text_stream(args))
    return 0
