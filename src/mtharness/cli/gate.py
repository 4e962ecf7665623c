"""`mtharness gate` and `mtharness baseline`: argument parsing and rule configs (OmegaConf) only."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mtharness.cli.args import (
    Parser,
    add_json,
    add_sacrebleu_options,
    add_seed,
    metric_name,
    sacrebleu_options,
    text_stream,
    write_json,
)
from mtharness.cli.outputs import check_outputs
from mtharness.core import DEFAULT_SEED, MtharnessError
from mtharness.gate.baseline import RunSnapshot, load_baseline, load_run, save_baseline
from mtharness.gate.config import assemble
from mtharness.gate.rules import check_comparable, run_gate
from mtharness.run.record import metric_json

GATE_EPILOG = """\
NAME is a score name (BLEU, chrF2, chrF2++, TER), optionally with a direction
(forward.BLEU, round_trip.chrF2), or a rate (copy_rate, off_target_rate). Drops are
measured in the metric's own direction: TER or copy_rate rising is a drop.
With no rule flags and no --config, configs/gate/default.yaml applies. Whatever the
rules, copy_rate and off_target_rate may rise at most 0.02 unless a rule names them.
Exit codes: 0 pass, 1 regression, 2 bad input or infrastructure error."""


def gate_parser() -> argparse.ArgumentParser:
    p = Parser(
        prog="mtharness gate",
        description="Fail CI when the current run regressed against a saved baseline.",
        epilog=GATE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--baseline", required=True, metavar="FILE", help="baseline file (mtharness baseline save)"
    )
    p.add_argument("--current", required=True, metavar="RUN_DIR", help="run folder of the model under test")
    p.add_argument("--max-drop", action="append", default=[], metavar="NAME=X", help="largest allowed drop")
    p.add_argument(
        "--min-score",
        action="append",
        default=[],
        metavar="NAME=X",
        help="absolute floor (ceiling for TER/rates)",
    )
    p.add_argument(
        "--require-significance",
        action="store_true",
        default=None,
        help="a drop fails only if the paired bootstrap says it is significant",
    )
    p.add_argument(
        "--metrics",
        nargs="+",
        type=metric_name,
        default=[],
        metavar="M",
        help="gate these metrics (e.g. bleu chrf comet cometkiwi): each fails on a significant drop, in "
        "every direction the baseline scored (like --max-drop NAME=0 --require-significance for each)",
    )
    p.add_argument("--config", metavar="NAME|FILE", help="rules from configs/gate/NAME.yaml or a YAML file")
    p.add_argument("--alpha", type=float, help="significance level (default 0.05)")
    p.add_argument("--n-resamples", type=int, help="bootstrap resamples (default 1000)")
    add_seed(p, None, f"default: the config's seed, else {DEFAULT_SEED}, sacrebleu's")
    p.add_argument("--junit", metavar="F", help="write JUnit XML (one test case per rule)")
    p.add_argument("--markdown", metavar="F", help="write markdown for a PR comment")
    add_json(p, "the verdict")
    add_sacrebleu_options(p)
    return p


def gate_main(argv: Sequence[str]) -> int:
    from mtharness.gate.rescore import rescore
    from mtharness.reports.gate import payload, terminal_table, write_error_outputs, write_outputs

    args = gate_parser().parse_args(list(argv))
    outputs = {"--junit": args.junit, "--markdown": args.markdown, "--json": args.json}
    check_outputs(outputs, [args.baseline], [args.current])
    try:
        specs, settings = assemble(
            args.config,
            args.max_drop,
            args.min_score,
            args.require_significance,
            args.alpha,
            args.n_resamples,
            args.seed,
            args.metrics,
        )
        base, cur = load_baseline(args.baseline), load_run(args.current)
        options = sacrebleu_options(args)
        if options:  # both sides re-scored from their outputs with the metric options asked for
            base, cur = rescore(base, cur, options)
        result = run_gate(base, cur, specs, settings)
        print(terminal_table(result), file=text_stream(args))
        write_outputs(result, args.junit, args.markdown)
        write_json(args.json, payload(result))
    except Exception as exc:  # exit 1 means "regression": anything else is bad input/infrastructure (2)
        message = str(exc) if isinstance(exc, MtharnessError) else f"{type(exc).__name__}: {exc}"
        try:
            write_error_outputs(message, args.junit, args.markdown)
        except (OSError, MtharnessError) as write_exc:  # atomic writes fail as MtharnessError
            print(f"mtharness gate: could not write the error report: {write_exc}", file=sys.stderr)
        print(f"mtharness gate: error: {message}", file=sys.stderr)
        return 2
    return 0 if result.passed else 1


def baseline_parser() -> argparse.ArgumentParser:
    p = Parser(prog="mtharness baseline", description="Save, refresh and show gate baselines.")
    sub = p.add_subparsers(dest="action", required=True)
    save = sub.add_parser("save", help="freeze a finished run into a new baseline file")
    save.add_argument("run_dir", metavar="RUN_DIR")
    save.add_argument("file", metavar="FILE")
    save.add_argument("--force", action="store_true", help="overwrite an existing file")
    refresh = sub.add_parser("refresh", help="replace a baseline with a newer run on the same data")
    refresh.add_argument("run_dir", metavar="RUN_DIR")
    refresh.add_argument("file", metavar="FILE")
    show = sub.add_parser("show", help="print a baseline's scores and provenance")
    show.add_argument("file", metavar="FILE")
    add_json(show, "the baseline's scores and provenance (its outputs left out)")
    return p


def summary(snap: RunSnapshot) -> dict[str, Any]:
    """`baseline show --json`: what `describe` prints, as data."""
    provenance = {"created": snap.created, "from_run": snap.from_run, "git_commit": snap.git_commit}
    return {
        "origin": snap.origin,
        "translator": dict(snap.translator),
        "dataset": snap.dataset_json(),
        "versions": dict(snap.versions),
        "scores": {d: {n: metric_json(m) for n, m in per.items()} for d, per in snap.scores.items()},
        "rates": snap.rates,
        "metrics": dict(snap.metrics),
        **{k: v for k, v in provenance.items() if v is not None},
    }


def describe(snap: RunSnapshot) -> str:
    ds = snap.dataset
    lines = [
        f"{snap.origin}",
        f"  translator: {dict(snap.translator)}",
        f"  dataset:    {ds.name} ({ds.pair}), {snap.n_segments} segments, sha256 {ds.content_hash[:16]}…",
        f"  versions:   {dict(snap.versions)}",
    ]
    for direction, metrics in snap.scores.items():
        cells = "  ".join(f"{n} {m.format()}" for n, m in metrics.items())
        lines.append(f"  {direction:<10}  {cells}")
    lines += [f"  {k:<10}  {v:.3f}" for k, v in snap.rates.items()]
    return "\n".join(lines)


def baseline_main(argv: Sequence[str]) -> int:
    args = baseline_parser().parse_args(list(argv))
    if args.action == "show":
        snap = load_baseline(args.file)
        write_json(args.json, summary(snap))
        print(describe(snap), file=text_stream(args))
        return 0
    target = Path(args.file)
    check_outputs({"FILE": target}, [], [args.run_dir])
    if args.action == "save" and target.exists() and not args.force:
        raise MtharnessError(
            f"baseline {target} exists; `mtharness baseline refresh {args.run_dir} {target}` replaces it "
            "(or pass --force)"
        )
    run: RunSnapshot | None = None  # read once: the comparability check and the new baseline share it
    if args.action == "refresh":
        if not target.exists():
            raise MtharnessError(f"baseline {target}: no such file; use `mtharness baseline save` first")
        old = load_baseline(target)
        run = load_run(args.run_dir)
        for note in check_comparable(old, run):
            print(f"note: {note}")
    save_baseline(args.run_dir, target, run)
    print(describe(load_baseline(target)))
    return 0
