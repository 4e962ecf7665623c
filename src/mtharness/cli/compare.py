"""`mtharness compare` and `mtharness report`: argparse front ends.

Plain functions underneath (compare.systems, compare.human.evaluation, compare.analysis, compare.copying,
reports.tables, reports.html) do the work; this module only reads flags, calls them and writes files.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mtharness.cli.args import (
    Parser,
    add_json,
    add_metric_options,
    add_metrics,
    add_model_options,
    add_sacrebleu_options,
    add_seed,
    add_tgt_lang,
    add_warn_rates,
    infer_tgt_lang,
    lang_suffix,
    metric_options,
    sacrebleu_options,
    text_stream,
    with_model,
    write_json,
)
from mtharness.cli.outputs import check_outputs
from mtharness.core import DEFAULT_SEED, MtharnessError
from mtharness.reports.analysis_text import analysis_text
from mtharness.reports.error_spans_text import error_spans_markdown, error_spans_text
from mtharness.scoring.metrics import apply_options, parse_specs
from mtharness.textio import atomic_write_text

if TYPE_CHECKING:
    from mtharness.compare.copying import RunRates
    from mtharness.compare.human.evaluation import HumanEvaluation
    from mtharness.compare.systems import Comparison
    from mtharness.run.reader import RunFolder

PAIRED = ("bs", "ar", "none")


def _compare_parser() -> argparse.ArgumentParser:
    p = Parser(
        prog="mtharness compare",
        description="Compare systems on the same references: scores with signatures, 95% bootstrap CIs, "
        "paired significance tests against a baseline, human correlation, HTML report.",
        epilog="Either files (--src/--refs/--systems) or finished run folders (positional RUN_DIR ...).",
    )
    p.add_argument("runs", nargs="*", metavar="RUN_DIR", help="finished `mtharness run` folders to compare")
    p.add_argument("--src", help="source file (one segment per line): length buckets and side-by-side views")
    p.add_argument(
        "--refs", nargs="+", default=[], metavar="REF", help="reference file(s); several = multi-reference"
    )
    p.add_argument(
        "--systems",
        nargs="+",
        default=[],
        metavar="SYS",
        help="system output files; name = file name minus .<tgt-lang>",
    )
    add_tgt_lang(p, "target language code (tokenizer choice); default: the systems' common suffix")
    p.add_argument(
        "--src-lang",
        metavar="LANG",
        help="source language code, named in an LLM judge's prompt (default: the --src file's suffix, "
        "e.g. src.en)",
    )
    p.add_argument(
        "--baseline",
        help="system the others are tested against (default: none; p-values and deltas are against the best system)",
    )
    add_metrics(p)
    add_model_options(p)
    add_metric_options(p)
    p.add_argument(
        "--paired",
        choices=PAIRED,
        default="bs",
        help="paired bootstrap (bs, default), approximate randomization (ar) or none",
    )
    p.add_argument(
        "--paired-n",
        type=int,
        default=None,
        help="resamples (bs, default 1000) or trials (ar, default 10000)",
    )
    p.add_argument(
        "--ci-n", type=int, default=1000, help="bootstrap resamples for the 95%% CIs (default 1000)"
    )
    add_seed(p, None, f"default: the seed the runs recorded, else {DEFAULT_SEED}, sacrebleu's")
    p.add_argument(
        "--alpha", type=float, default=0.05, help="significance level of the * marker (default 0.05)"
    )
    p.add_argument(
        "--human",
        help="human scores: system level (system<TAB>score, *.sys.score, da-sqm.results.sys.tsv) or "
        "segment level (*.seg.score blocks, system<TAB>segment<TAB>score)",
    )
    p.add_argument("--human-format", choices=["auto", "tsv", "mtme", "wmt-results"], default="auto")
    p.add_argument(
        "--human-level",
        choices=["auto", "system", "segment"],
        default="auto",
        help="level of the --human file: auto recognises it (segment files repeat system names)",
    )
    p.add_argument(
        "--domains",
        metavar="FILE",
        help="one domain per segment (e.g. WMT's docids.tsv: domain<TAB>doc): per-domain correlations",
    )
    p.add_argument("--human-column", help="column of a WMT results table (default raw_mean; e.g. z_mean)")
    p.add_argument(
        "--jobs",
        type=int,
        default=0,
        help="worker processes for statistics extraction (default 0: every usable core once the job "
        "repays the start-up; 1: none)",
    )
    p.add_argument(
        "--analysis",
        action="store_true",
        help="add the segment-level analysis (length buckets, wins/losses, worst lines, salient n-grams, "
        "word F by frequency, sentence histograms) to --json; --html always has it",
    )
    p.add_argument(
        "--direction", choices=["forward", "round_trip", "both"], default="both", help="for run folders"
    )
    p.add_argument("--worst", type=int, default=10, help="worst segments listed per system (default 10)")
    add_json(p, "the comparison")
    for fmt in ("html", "csv", "markdown", "latex"):
        p.add_argument(
            f"--{fmt}",
            metavar="FILE",
            help=f"write the comparison as {fmt.upper() if fmt != 'markdown' else 'markdown'}",
        )
    p.add_argument(
        "--sentence-level",
        metavar="FILE",
        help="write every system's per-segment scores (TSV: direction, segment, system, one column per metric)",
    )
    p.add_argument("--quiet", action="store_true", help="no table on stdout")
    add_warn_rates(p)
    add_sacrebleu_options(p)
    return p


def _inputs(args: argparse.Namespace) -> tuple[list[Any], dict[str, Any], list[RunRates], list[RunFolder]]:
    """The comparisons to make, what they were made from (JSON ``sources``), the runs' rates, and the
    run folders (each read once)."""
    from mtharness.compare.copying import run_notes
    from mtharness.compare.systems import inputs_from_files
    from mtharness.run.reader import read_run

    if args.runs and (args.systems or args.refs or args.src):
        raise MtharnessError("give either run folders or --src/--refs/--systems, not both")
    if args.runs:
        runs = [read_run(path) for path in args.runs]
        inputs = _run_inputs(args, runs)
        rates = _run_rates(runs, args)
        return inputs, {"runs": [str(r) for r in args.runs], "notes": run_notes(rates)}, rates, runs
    if not args.systems:
        raise MtharnessError("nothing to compare: give --systems FILE ... with --refs, or run folders")
    tgt = args.tgt_lang or infer_tgt_lang(args.systems)
    src = args.src_lang or (lang_suffix(args.src) if args.src else None)
    inp = inputs_from_files(args.src, args.refs, args.systems, tgt, args.baseline, src)
    files = {"src": args.src, "refs": args.refs, "systems": args.systems, "src_lang": src, "trg_lang": tgt}
    return [inp], files, [], []


def _run_inputs(args: argparse.Namespace, runs: Sequence[RunFolder]) -> list[Any]:
    from mtharness.compare.runs import inputs_from_runs

    inputs = inputs_from_runs(runs, args.baseline)
    if args.direction != "both":
        inputs = [i for i in inputs if i.label == args.direction]
        if not inputs:
            raise MtharnessError(f"--direction {args.direction}: the runs have no such direction")
    return inputs


def _run_rates(runs: Sequence[RunFolder], args: argparse.Namespace) -> list[RunRates]:
    """Each run's copy / off-target rates under its warn rates (--copy-warn/--off-target-warn override)."""
    from mtharness.compare.copying import run_rates
    from mtharness.compare.runs import system_names

    return run_rates(runs, system_names(runs), args.copy_warn, args.off_target_warn)


def common_seed(runs: Sequence[RunFolder]) -> int:
    """The seed the runs recorded (their `seed` key) when they agree, else DEFAULT_SEED."""
    seeds = {run.record.seed for run in runs}
    seeds.discard(None)
    if len(seeds) == 1 and (seed := seeds.pop()) is not None:
        return seed
    return DEFAULT_SEED


def main(argv: Sequence[str]) -> int:
    """`mtharness compare`: N systems against the same references."""
    from mtharness.compare.analysis import analyse
    from mtharness.compare.copying import flag_round_trips
    from mtharness.compare.error_spans import attach_error_spans
    from mtharness.compare.human.evaluation import segment_table
    from mtharness.compare.runs import register_run_metrics
    from mtharness.compare.systems import compare
    from mtharness.reports import tables

    register_run_metrics(argv)  # metrics of the runs' own (_target_) configs, before --metrics is read
    args = _compare_parser().parse_args(list(argv))
    if args.runs:  # a sweep folder stands for its jobs' run folders
        from mtharness.compare.sweep import expand_runs

        args.runs = expand_runs(args.runs)
    if args.paired_n is not None and args.paired_n < 1:
        raise MtharnessError("--paired-n must be at least 1")
    if args.ci_n < 1:
        raise MtharnessError("--ci-n must be at least 1")
    if not 0 < args.alpha < 1:
        raise MtharnessError(f"--alpha {args.alpha}: must be between 0 and 1 (e.g. 0.05)")
    if args.jobs < 0:
        raise MtharnessError(f"--jobs {args.jobs}: must be 0 (one per CPU) or a number of processes")
    check_outputs(
        {
            f"--{k.replace('_', '-')}": getattr(args, k)
            for k in ("json", "csv", "markdown", "latex", "html", "sentence_level")
        },
        [args.src, *args.refs, *args.systems, args.human, args.domains],
        args.runs,
    )
    inputs, sources, rates, runs = _inputs(args)
    if args.seed is None:
        args.seed = common_seed(runs) if runs else DEFAULT_SEED
    specs = [with_model(s, args) for s in apply_options(parse_specs(args.metrics), sacrebleu_options(args))]
    specs = metric_options(specs, args.metric_option)
    method = None if args.paired == "none" else args.paired
    jobs = args.jobs if args.jobs > 0 else None  # None: every core where the work repays the fork
    comps = [
        compare(i, specs, method, args.paired_n, args.seed, args.alpha, args.ci_n, jobs, args.cache_dir)
        for i in inputs
    ]
    if args.analysis or args.html:  # the costliest part of a compare: only when its output is asked for
        for comp in comps:
            analyse(comp, args.worst)
    for comp in comps:
        attach_error_spans(comp, args.worst)
    flag_round_trips(comps, rates)
    evaluation = _human(args, comps)
    correlations = evaluation.system if evaluation else []
    out = text_stream(args)
    if not args.quiet:
        print("\n\n".join(_with_warnings(tables.terminal_table(c), c) for c in comps), file=out)
        if not any(c.inp.label == "round_trip" for c in comps):  # else the warnings said it
            for note in sources.get("notes", []):
                print(f"note: {note}", file=out)
        if correlations:
            print(
                f"\nCorrelation with human scores ({args.human}), {tables.HUMAN_DIRECTION}\n"
                + tables.correlation_table(correlations),
                file=out,
            )
        if evaluation and evaluation.segment:
            print(
                f"\nSegment-level correlation (Pearson, Kendall tau-b), {tables.HUMAN_DIRECTION}\n"
                f"{segment_table(evaluation)}",
                file=out,
            )
        if evaluation and any(c.inp.label == "round_trip" for c in comps):
            print(f"note: {tables.ROUND_TRIP_NOT_CORRELATED}", file=out)
        for c in comps:
            segment = evaluation.segment if evaluation and c.inp.label == "forward" else ()
            text = analysis_text(c.analysis or {}, segment)
            if text:
                print(f"\nAnalysis ({c.inp.label})\n{text}", file=out)
            if c.error_spans:
                print(f"\n{error_spans_text(c.inp.label, c.error_spans)}", file=out)
    written = _write_outputs(args, comps, evaluation, sources)
    for path in written:
        print(f"wrote {path}", file=sys.stderr)
    return 0


def _with_warnings(table: str, comp: Comparison) -> str:
    return "\n".join([table, *(f"warning: {w}" for w in comp.warnings)])


def _human(args: argparse.Namespace, comps: Sequence[Comparison]) -> HumanEvaluation | None:
    """Correlate each metric of the forward comparison with the human scores (system and segment level)."""
    if not args.human:
        return None
    from mtharness.compare.human.evaluation import evaluate_forward

    return evaluate_forward(
        comps,
        "--human",
        args.human,
        args.human_level,
        args.human_format,
        args.human_column,
        args.domains,
        args.ci_n,
    )


def _write_outputs(
    args: argparse.Namespace,
    comps: Sequence[Any],
    evaluation: HumanEvaluation | None,
    sources: dict[str, Any],
) -> list[Path]:
    from mtharness.compare.systems import report_payload
    from mtharness.reports import tables

    correlations = evaluation.system if evaluation else []
    written: list[Path] = []
    if args.json:
        path = write_json(args.json, report_payload(comps, sources))
        written += [Path(path)] if path else []
    if args.csv:
        written.append(atomic_write_text(args.csv, tables.to_csv(comps)))
    if args.markdown:
        spans = error_spans_markdown(comps)
        markdown = tables.to_markdown(comps, correlations) + (f"\n{spans}" if spans else "")
        written.append(atomic_write_text(args.markdown, markdown))
    if args.latex:
        written.append(atomic_write_text(args.latex, tables.to_latex(comps)))
    if args.sentence_level:
        from mtharness.compare.analysis import sentence_level_tsv

        written.append(atomic_write_text(args.sentence_level, sentence_level_tsv(comps)))
    if args.html:
        from mtharness.reports.html import render

        names = ", ".join(comps[0].systems)
        html = render(
            comps,
            f"mtharness comparison: {names}",
            correlations,
            sources.get("notes", []),
            {"seed": args.seed},
            human=evaluation.human_system if evaluation else None,
            segment_correlations=evaluation.segment if evaluation else (),
        )
        written.append(atomic_write_text(args.html, html))
    return written


def _rate(value: Any) -> Any:
    """A rate as the tables print it (3 decimals), never 0.006667."""
    return f"{value:.3f}" if isinstance(value, float) else value


def report_main(argv: Sequence[str]) -> int:
    """`mtharness report RUN_DIR`: a self-contained HTML report of one finished run."""
    from mtharness.compare.analysis import analyse
    from mtharness.compare.copying import flag_round_trips
    from mtharness.compare.error_spans import attach_error_spans
    from mtharness.compare.runs import inputs_from_runs
    from mtharness.compare.systems import compare
    from mtharness.reports.html import render, run_summary
    from mtharness.run.reader import read_run

    p = Parser(
        prog="mtharness report",
        description="Write an HTML report (scores with CIs, plots, segment browser) for a run.",
    )
    p.add_argument("run_dir", help="a finished run folder (with scores.json)")
    p.add_argument("--out", help="HTML file to write (default: RUN_DIR/report.html)")
    add_metrics(p)
    p.add_argument("--ci-n", type=int, default=1000, help="bootstrap resamples for the 95%% CIs")
    add_seed(p, None, f"default: the run's seed, else {DEFAULT_SEED}")
    p.add_argument("--worst", type=int, default=10, help="worst segments listed (default 10)")
    add_json(p, "the scores with their CIs")
    add_warn_rates(p)
    add_sacrebleu_options(p)
    from mtharness.compare.runs import register_run_metrics

    register_run_metrics(argv)
    args = p.parse_args(list(argv))
    if args.ci_n < 1:
        raise MtharnessError("--ci-n must be at least 1")
    default_out = Path(args.run_dir) / "report.html"
    check_outputs({"--out": args.out, "--json": args.json}, [], [args.run_dir], [default_out])
    run = read_run(args.run_dir)  # the one read of this run: everything below uses it
    seed = common_seed([run]) if args.seed is None else args.seed
    specs = apply_options(parse_specs(args.metrics), sacrebleu_options(args))
    comps = [compare(i, specs, None, None, seed, 0.05, args.ci_n) for i in inputs_from_runs([run])]
    for comp in comps:
        analyse(comp, args.worst)
        attach_error_spans(comp, args.worst)
    rates = _run_rates([run], args)
    flag_round_trips(comps, rates)
    notes = rates[0].notes()
    rec = run.record
    ds = rec.dataset
    off: Any = "not measured"
    if rec.off_target_measured:
        off = "undetermined" if rec.off_target_rate is None else rec.off_target_rate
    meta = {
        "dataset": f"{ds.name} ({ds.pair})",
        "segments": rec.n_segments,
        "copy rate": _rate(rec.copy_rate),
        "off-target rate": _rate(off),
    }
    html = render(
        comps,
        f"mtharness run: {run.name} on {ds.name} ({ds.pair})",
        notes=notes,
        meta=meta,
        run_summary=run_summary(rec),
    )
    out = atomic_write_text(args.out or default_out, html)
    if not args.out:  # the run folder's own report: listed, so overwrite=true may replace it later
        from mtharness.run.folder import record_files

        record_files(args.run_dir, [out])
    if args.json:
        from mtharness.compare.systems import report_payload

        write_json(args.json, report_payload(comps, {"runs": [str(args.run_dir)], "notes": notes}))
    for note in notes:
        print(f"note: {note}", file=text_stream(args))
    print(f"wrote {out}", file=text_stream(args))
    return 0
