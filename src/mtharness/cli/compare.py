"""`mtharness compare` and `mtharness report`: argparse front ends.

Plain functions underneath (compare.systems, compare.human_eval, compare.analysis, compare.copying,
reports.tables, reports.html) do the work; this module only reads flags, calls them and writes files.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mtharness.cli.args import (
    Parser,
    add_json,
    add_metrics,
    add_sacrebleu_options,
    add_seed,
    add_tgt_lang,
    add_warn_rates,
    sacrebleu_options,
    text_stream,
    write_json,
)
from mtharness.core import DEFAULT_SEED, MtharnessError
from mtharness.scoring.metrics import MetricSpec, apply_options, parse_specs
from mtharness.textio import atomic_write_text

if TYPE_CHECKING:
    from mtharness.compare.copying import RunRates
    from mtharness.compare.human_eval import HumanEvaluation

PAIRED = ("bs", "ar", "none")
NOT_LANGS = {"txt", "tsv", "csv", "out", "hyp", "ref", "src", "sys", "log"}


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
    p.add_argument("--baseline", help="system the others are tested against (default: the first)")
    add_metrics(p)
    p.add_argument("--comet-model", help="COMET checkpoint (folder/.ckpt) or hub id for files input")
    p.add_argument("--cometkiwi-model", help="CometKiwi checkpoint (folder/.ckpt) or hub id for files input")
    p.add_argument(
        "--cache-dir",
        default=os.environ.get("MTHARNESS_CACHE_DIR", "results/cache"),
        help="where comet.sqlite keeps COMET segment scores (default $MTHARNESS_CACHE_DIR or results/cache)",
    )
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


def _infer_tgt_lang(systems: Sequence[str]) -> str:
    suffixes = {Path(s).suffix.lstrip(".") for s in systems}
    # a language code, not a file type: hyp.es.txt needs --tgt-lang es
    if len(suffixes) == 1 and (lang := suffixes.pop()).isalpha() and len(lang) <= 3 and lang not in NOT_LANGS:
        return lang
    raise MtharnessError("--tgt-lang is required (the system files do not share a language suffix like .de)")


def _inputs(args: argparse.Namespace) -> tuple[list[Any], dict[str, Any], list[RunRates]]:
    """The comparisons to make, what they were made from (JSON ``sources``), and the runs' rates."""
    from mtharness.compare.copying import run_notes
    from mtharness.compare.systems import inputs_from_files

    if args.runs and (args.systems or args.refs or args.src):
        raise MtharnessError("give either run folders or --src/--refs/--systems, not both")
    if args.runs:
        inputs = _run_inputs(args)
        rates = _run_rates(args.runs, args)
        return inputs, {"runs": [str(r) for r in args.runs], "notes": run_notes(rates)}, rates
    if not args.systems:
        raise MtharnessError("nothing to compare: give --systems FILE ... with --refs, or run folders")
    tgt = args.tgt_lang or _infer_tgt_lang(args.systems)
    inp = inputs_from_files(args.src, args.refs, args.systems, tgt, args.baseline)
    return [inp], {"src": args.src, "refs": args.refs, "systems": args.systems, "trg_lang": tgt}, []


def _run_inputs(args: argparse.Namespace) -> list[Any]:
    from mtharness.compare.runs import inputs_from_runs

    inputs = inputs_from_runs(args.runs, args.baseline)
    if args.direction != "both":
        inputs = [i for i in inputs if i.label == args.direction]
        if not inputs:
            raise MtharnessError(f"--direction {args.direction}: the runs have no such direction")
    return inputs


def _run_rates(run_dirs: Sequence[str], args: argparse.Namespace) -> list[RunRates]:
    """Each run's copy / off-target rates under its warn rates (--copy-warn/--off-target-warn override)."""
    from mtharness.compare.copying import run_rates
    from mtharness.compare.runs import system_names
    from mtharness.run.reader import read_run

    runs = [read_run(path) for path in run_dirs]
    return run_rates(runs, system_names(runs), args.copy_warn, args.off_target_warn)


def _flag_round_trips(comps: Sequence[Any], rates: Sequence[RunRates]) -> None:
    """Put the copy / off-target warnings beside each round-trip comparison (JSON, terminal, HTML)."""
    from mtharness.compare.copying import round_trip_warnings

    for comp in comps:
        warnings = round_trip_warnings(comp, rates)
        if warnings:
            comp.extras["warnings"] = warnings


def run_seed(run_dirs: Sequence[str]) -> int:
    """The seed the runs recorded (their `seed` key) when they agree, else DEFAULT_SEED."""
    from mtharness.run.reader import read_run

    seeds = {read_run(path).config.get("seed") for path in run_dirs}
    seeds.discard(None)
    if len(seeds) == 1 and isinstance(seed := seeds.pop(), int):
        return seed
    return DEFAULT_SEED


def main(argv: Sequence[str]) -> int:
    """`mtharness compare`: N systems against the same references."""
    from mtharness.compare.analysis import analyse
    from mtharness.compare.human_eval import segment_table
    from mtharness.compare.systems import compare
    from mtharness.reports import tables

    args = _compare_parser().parse_args(list(argv))
    if args.paired_n is not None and args.paired_n < 1:
        raise MtharnessError("--paired-n must be at least 1")
    if args.ci_n < 1:
        raise MtharnessError("--ci-n must be at least 1")
    inputs, sources, rates = _inputs(args)
    if args.seed is None:
        args.seed = run_seed(args.runs) if args.runs else DEFAULT_SEED
    specs = [_with_model(s, args) for s in apply_options(parse_specs(args.metrics), sacrebleu_options(args))]
    method = None if args.paired == "none" else args.paired
    jobs = args.jobs if args.jobs > 0 else None  # None: every core where the work repays the fork
    comps = [
        compare(i, specs, method, args.paired_n, args.seed, args.alpha, args.ci_n, jobs, args.cache_dir)
        for i in inputs
    ]
    if args.analysis or args.html:  # the costliest part of a compare: only when its output is asked for
        for comp in comps:
            analyse(comp, args.worst)
    _flag_round_trips(comps, rates)
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
                "\nCorrelation with human scores ("
                + str(args.human)
                + ")\n"
                + tables.correlation_table(correlations),
                file=out,
            )
        if evaluation and evaluation.segment:
            print(
                f"\nSegment-level correlation (Pearson, Kendall tau-b)\n{segment_table(evaluation)}", file=out
            )
    written = _write_outputs(args, comps, evaluation, sources)
    for path in written:
        print(f"wrote {path}", file=sys.stderr)
    return 0


def _with_model(spec: MetricSpec, args: argparse.Namespace) -> MetricSpec:
    """--comet-model / --cometkiwi-model into the COMET-family specs (hub defaults otherwise)."""
    model = {"comet": args.comet_model, "cometkiwi": args.cometkiwi_model}.get(spec.kind)
    return MetricSpec(spec.kind, {**spec.args, "model": model}) if model else spec


def _with_warnings(table: str, comp: Any) -> str:
    return "\n".join([table, *(f"warning: {w}" for w in comp.extras.get("warnings", []))])


def _human(args: argparse.Namespace, comps: Sequence[Any]) -> HumanEvaluation | None:
    """Correlate each metric of the forward comparison with the human scores (system and segment level)."""
    if not args.human:
        return None
    from mtharness.compare.human_eval import evaluate_human

    forward = next((c for c in comps if c.inp.label == "forward"), None)
    if forward is None:
        raise MtharnessError(
            "--human needs a forward comparison (human scores judge translations, not round trips)"
        )
    evaluation = evaluate_human(
        forward, args.human, args.human_level, args.human_format, args.human_column, args.domains, args.ci_n
    )
    forward.extras["human"] = evaluation.to_json()
    return evaluation


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
        written.append(atomic_write_text(args.markdown, tables.to_markdown(comps, correlations)))
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
        )
        written.append(atomic_write_text(args.html, html))
    return written


def report_main(argv: Sequence[str]) -> int:
    """`mtharness report RUN_DIR`: a self-contained HTML report of one finished run."""
    from mtharness.compare.analysis import analyse
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
    args = p.parse_args(list(argv))
    if args.ci_n < 1:
        raise MtharnessError("--ci-n must be at least 1")
    run = read_run(args.run_dir)
    seed = run_seed([args.run_dir]) if args.seed is None else args.seed
    specs = apply_options(parse_specs(args.metrics), sacrebleu_options(args))
    comps = [compare(i, specs, None, None, seed, 0.05, args.ci_n) for i in inputs_from_runs([args.run_dir])]
    for comp in comps:
        analyse(comp, args.worst)
    rates = _run_rates([args.run_dir], args)
    _flag_round_trips(comps, rates)
    notes = rates[0].notes()
    ds = run.payload["dataset"]
    off = run.payload.get("off_target_rate", "not measured")
    meta = {
        "dataset": f"{ds['name']} ({ds['pair']})",
        "segments": run.payload.get("n_segments"),
        "copy rate": run.payload.get("copy_rate"),
        "off-target rate": "undetermined" if off is None else off,
    }
    html = render(
        comps,
        f"mtharness run: {run.name} on {ds['name']} ({ds['pair']})",
        notes=notes,
        meta=meta,
        run_summary=run_summary(run.payload),
    )
    out = atomic_write_text(args.out or Path(args.run_dir) / "report.html", html)
    if args.json:
        from mtharness.compare.systems import report_payload

        write_json(args.json, report_payload(comps, {"runs": [str(args.run_dir)], "notes": notes}))
    for note in notes:
        print(f"note: {note}", file=text_stream(args))
    print(f"wrote {out}", file=text_stream(args))
    return 0
