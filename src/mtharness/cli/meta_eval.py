"""`mtharness meta-eval`: which metric agrees with the human judgments, and is the difference real.

Same inputs as `mtharness compare` (files or finished run folders) plus a human score file; the
work is done by compare.meta_eval (statistics) and reports.meta_eval (tables, HTML).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from mtharness.cli.args import (
    Parser,
    add_json,
    add_metrics,
    add_model_options,
    add_sacrebleu_options,
    add_seed,
    add_tgt_lang,
    sacrebleu_options,
    text_stream,
    with_model,
    write_json,
)
from mtharness.core import DEFAULT_SEED, MtharnessError
from mtharness.textio import atomic_write_text

if TYPE_CHECKING:
    from mtharness.compare.systems import CompareInput


def _parser() -> argparse.ArgumentParser:
    p = Parser(
        prog="mtharness meta-eval",
        description="Meta-evaluate metrics against human judgments the way the WMT metrics task does "
        "(mt-metrics-eval's statistics): system-level Pearson, Spearman, Kendall, pairwise and soft "
        "pairwise accuracy; segment-level Pearson, Kendall b/c/23 and tie-calibrated acc_eq per grouping; "
        "PERM-BOTH significance clusters and Williams tests. Round-trip metrics of run folders are "
        "candidates too, against the human scores of the forward translations.",
        epilog="Either files (--src/--refs/--systems) or finished run folders (positional RUN_DIR ...).",
    )
    p.add_argument(
        "runs", nargs="*", metavar="RUN_DIR", help="finished `mtharness run` folders (one per system)"
    )
    p.add_argument("--src", help="source file (one segment per line)")
    p.add_argument("--refs", nargs="+", default=[], metavar="REF", help="reference file(s)")
    p.add_argument(
        "--systems",
        nargs="+",
        default=[],
        metavar="SYS",
        help="system output files; name = file name minus .<tgt-lang>",
    )
    add_tgt_lang(p, "target language code; default: the systems' common suffix")
    add_metrics(p)  # run folders: default every metric the runs scored
    p.add_argument(
        "--human",
        required=True,
        help="human scores: segment level (*.seg.score blocks, system<TAB>segment<TAB>score) or system level "
        "(system<TAB>score, *.sys.score, da-sqm.results.sys.tsv)",
    )
    p.add_argument("--human-format", choices=["auto", "tsv", "mtme", "wmt-results"], default="auto")
    p.add_argument("--human-level", choices=["auto", "system", "segment"], default="auto")
    p.add_argument("--human-column", help="column of a WMT results table (default raw_mean)")
    p.add_argument(
        "--permutations",
        type=int,
        default=1000,
        help="PERM-BOTH resamples per metric pair (default 1000; 0: no tests)",
    )
    p.add_argument(
        "--alpha", type=float, default=0.05, help="p-value at or below which a cluster ends (default 0.05)"
    )
    p.add_argument(
        "--groupings",
        nargs="+",
        choices=["none", "item", "system"],
        default=["none", "item", "system"],
        help="segment-level groupings (default all)",
    )
    add_seed(p)
    add_model_options(p)
    p.add_argument("--jobs", type=int, default=1, help="worker processes for statistics extraction")
    add_json(p, "every number with its settings")
    p.add_argument("--markdown", metavar="FILE", help="write the tables as markdown")
    p.add_argument(
        "--html", metavar="FILE", help="write the tables and a metric-vs-human scatter per metric as HTML"
    )
    p.add_argument("--quiet", action="store_true", help="no table on stdout")
    add_sacrebleu_options(p)
    return p


def _inputs(args: argparse.Namespace) -> list[CompareInput]:
    from mtharness.cli.args import infer_tgt_lang
    from mtharness.compare.systems import inputs_from_files

    if args.runs and (args.systems or args.refs or args.src):
        raise MtharnessError("give either run folders or --src/--refs/--systems, not both")
    if args.runs:
        from mtharness.compare.runs import inputs_from_runs

        return inputs_from_runs(args.runs)
    if not args.systems:
        raise MtharnessError("nothing to evaluate: give --systems FILE ... with --refs, or run folders")
    tgt = args.tgt_lang or infer_tgt_lang(args.systems)
    return [inputs_from_files(args.src, args.refs, args.systems, tgt)]


def run_metrics(run_dirs: Sequence[str]) -> list[str]:
    """The metrics every run scored (any direction), in the first run's order: the default candidates
    for run folders, so COMET and whatever the protocol scored are evaluated without naming them."""
    from mtharness.run.reader import read_run
    from mtharness.scoring.metrics import metric_kind_or_none

    per_run = []
    for path in run_dirs:
        scores = read_run(path).scores
        kinds = [metric_kind_or_none(name) for direction in scores.values() for name in direction]
        per_run.append([k for k in dict.fromkeys(kinds) if k])
    return [k for k in per_run[0] if all(k in kinds for kinds in per_run[1:])]


def main(argv: Sequence[str]) -> int:
    from mtharness.compare.meta_eval.inputs import candidates, read_human_file
    from mtharness.compare.meta_eval.run import Settings, meta_evaluate
    from mtharness.compare.systems import compare
    from mtharness.reports import meta_eval as render
    from mtharness.scoring.metrics import apply_options, parse_specs

    args = _parser().parse_args(list(argv))
    if args.permutations < 0:
        raise MtharnessError("--permutations must be 0 or more")
    if not 0 < args.alpha < 1:
        raise MtharnessError("--alpha must be between 0 and 1")
    inputs = _inputs(args)
    if args.runs and "--metrics" not in argv:
        args.metrics = run_metrics(args.runs) or args.metrics
    human = read_human_file(
        args.human, inputs[0].n_segments, args.human_level, args.human_format, args.human_column
    )
    specs = [with_model(s, args) for s in apply_options(parse_specs(args.metrics), sacrebleu_options(args))]
    seed = DEFAULT_SEED if args.seed is None else args.seed
    # scores only: no paired tests, one bootstrap draw (compare's CIs are not used here)
    comps = [
        compare(i, specs, None, None, seed, args.alpha, 1, max(args.jobs, 1), args.cache_dir) for i in inputs
    ]
    cands = candidates(comps, human.level == "segment")
    settings = Settings(seed, args.permutations, args.alpha, tuple(args.groupings))
    ev = meta_evaluate(cands, human, settings)
    out = text_stream(args)
    if not args.quiet:
        print(render.terminal(ev), file=out)
    written = []
    if args.json:
        path = write_json(args.json, render.to_json(ev))
        written += [path] if path else []
    if args.markdown:
        written.append(str(atomic_write_text(args.markdown, render.markdown(ev))))
    if args.html:
        written.append(str(atomic_write_text(args.html, render.html_page(ev))))
    for path in written:
        print(f"wrote {path}", file=sys.stderr)
    return 0
