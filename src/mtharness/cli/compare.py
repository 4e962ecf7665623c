"""`mtharness compare`, `mtharness leaderboard` and `mtharness report`: argparse front ends.

Plain functions underneath (compare.py, human.py, analysis.py, tables.py, html_report.py,
leaderboard.py) do the work; this module only reads flags, calls them and writes files.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mtharness.core import MtharnessError
from mtharness.scoring.metrics import ALL_KINDS, MetricSpec, parse_specs
from mtharness.scoring.significance import DEFAULT_SEED
from mtharness.textio import atomic_write_json, atomic_write_text

PAIRED = ("bs", "ar", "none")
NOT_LANGS = {"txt", "tsv", "csv", "out", "hyp", "ref", "src", "sys", "log"}


def _compare_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
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
        help="system output files; name = file name minus .<trg-lang>",
    )
    p.add_argument(
        "--trg-lang", help="target language code (tokenizer choice); default: the systems' common suffix"
    )
    p.add_argument("--baseline", help="system the others are tested against (default: the first)")
    p.add_argument(
        "--metrics",
        nargs="+",
        default=["bleu", "chrf"],
        choices=sorted(ALL_KINDS),
        metavar="M",
        help="bleu chrf chrfpp ter comet cometkiwi (default: bleu chrf); COMET-family scores come from "
        "the run folders' segments.jsonl, or are scored (needs `mtharness env setup comet`)",
    )
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
    p.add_argument(
        "--seed",
        type=int,
        default=DEFAULT_SEED,
        help=f"random seed, recorded in the outputs (default {DEFAULT_SEED}, sacrebleu's)",
    )
    p.add_argument(
        "--alpha", type=float, default=0.05, help="significance level of the * marker (default 0.05)"
    )
    p.add_argument(
        "--human", help="human system scores: TSV system<TAB>score, *.sys.score or da-sqm.results.sys.tsv"
    )
    p.add_argument("--human-format", choices=["auto", "tsv", "mtme", "wmt-results"], default="auto")
    p.add_argument("--human-column", help="column of a WMT results table (default raw_mean; e.g. z_mean)")
    p.add_argument(
        "--jobs", type=int, default=1, help="worker processes for statistics extraction (0: one per CPU)"
    )
    p.add_argument(
        "--direction", choices=["forward", "round_trip", "both"], default="both", help="for run folders"
    )
    p.add_argument("--worst", type=int, default=10, help="worst segments listed per system (default 10)")
    for fmt in ("json", "html", "csv", "markdown", "latex"):
        p.add_argument(
            f"--{fmt}",
            metavar="FILE",
            help=f"write the comparison as {fmt.upper() if fmt != 'markdown' else 'markdown'}",
        )
    p.add_argument("--quiet", action="store_true", help="no table on stdout")
    return p


def _infer_trg_lang(systems: Sequence[str]) -> str:
    suffixes = {Path(s).suffix.lstrip(".") for s in systems}
    # a language code, not a file type: hyp.es.txt needs --trg-lang es
    if len(suffixes) == 1 and (lang := suffixes.pop()).isalpha() and len(lang) <= 3 and lang not in NOT_LANGS:
        return lang
    raise MtharnessError("--trg-lang is required (the system files do not share a language suffix like .de)")


def _inputs(args: argparse.Namespace) -> tuple[list[Any], dict[str, Any]]:
    from mtharness.compare.runs import inputs_from_runs
    from mtharness.compare.systems import inputs_from_files

    if args.runs and (args.systems or args.refs or args.src):
        raise MtharnessError("give either run folders or --src/--refs/--systems, not both")
    if args.runs:
        if len(args.runs) < 1:
            raise MtharnessError("give at least one run folder")
        inputs = inputs_from_runs(args.runs, args.baseline)
        if args.direction != "both":
            inputs = [i for i in inputs if i.label == args.direction]
            if not inputs:
                raise MtharnessError(f"--direction {args.direction}: the runs have no such direction")
        return inputs, {"runs": [str(r) for r in args.runs], "notes": _copy_notes(args.runs)}
    if not args.systems:
        raise MtharnessError("nothing to compare: give --systems FILE ... with --refs, or run folders")
    trg = args.trg_lang or _infer_trg_lang(args.systems)
    inp = inputs_from_files(args.src, args.refs, args.systems, trg, args.baseline)
    return [inp], {"src": args.src, "refs": args.refs, "systems": args.systems, "trg_lang": trg}


def _copy_notes(run_dirs: Sequence[str]) -> list[str]:
    """A run that copies its input has a perfect round trip that means nothing: say so."""
    from mtharness.compare.runs import load_run

    notes = []
    for path in run_dirs:
        run = load_run(path)
        rate = float(run.payload.get("copy_rate") or 0.0)
        if rate > 0.5:
            notes.append(
                f"{run.translator} ({path}): copy rate {rate:.2f}, it copies its input; its round-trip scores mean nothing"
            )
    return notes


def main(argv: Sequence[str]) -> int:
    """`mtharness compare`: N systems against the same references."""
    from mtharness.compare.analysis import analyse
    from mtharness.compare.systems import compare
    from mtharness.reports import tables

    args = _compare_parser().parse_args(list(argv))
    if args.paired_n is not None and args.paired_n < 1:
        raise MtharnessError("--paired-n must be at least 1")
    if args.ci_n < 1:
        raise MtharnessError("--ci-n must be at least 1")
    inputs, sources = _inputs(args)
    specs = [_with_model(s, args) for s in parse_specs(args.metrics)]
    method = None if args.paired == "none" else args.paired
    jobs = args.jobs if args.jobs > 0 else (os.cpu_count() or 1)
    comps = [
        compare(i, specs, method, args.paired_n, args.seed, args.alpha, args.ci_n, jobs, args.cache_dir)
        for i in inputs
    ]
    for comp in comps:
        analyse(comp, args.worst)
    correlations = _human(args, comps)
    if not args.quiet:
        print("\n\n".join(tables.terminal_table(c) for c in comps))
        for note in sources.get("notes", []):
            print(f"note: {note}")
        if correlations:
            print(
                "\nCorrelation with human scores ("
                + str(args.human)
                + ")\n"
                + tables.correlation_table(correlations)
            )
    written = _write_outputs(args, comps, correlations, sources)
    for path in written:
        print(f"wrote {path}", file=sys.stderr)
    return 0


def _with_model(spec: MetricSpec, args: argparse.Namespace) -> MetricSpec:
    """--comet-model / --cometkiwi-model into the COMET-family specs (hub defaults otherwise)."""
    model = {"comet": args.comet_model, "cometkiwi": args.cometkiwi_model}.get(spec.kind)
    return MetricSpec(spec.kind, {**spec.args, "model": model}) if model else spec


def _human(args: argparse.Namespace, comps: Sequence[Any]) -> list[Any]:
    """Correlate each metric of the forward comparison with the human system scores."""
    if not args.human:
        return []
    from mtharness.compare.human import correlate, read_human

    human = read_human(args.human, args.human_format, args.human_column)
    forward = next((c for c in comps if c.inp.label == "forward"), None)
    if forward is None:
        raise MtharnessError(
            "--human needs a forward comparison (human scores judge translations, not round trips)"
        )
    out = []
    for m in forward.metrics:
        scores = {name: s.score for name, s in m.stats.items()}
        out.append(correlate(m.name, scores, human, m.higher_is_better))
    forward.extras["human"] = {"file": str(args.human), "correlations": [c.to_json() for c in out]}
    return out


def _write_outputs(
    args: argparse.Namespace, comps: Sequence[Any], correlations: Sequence[Any], sources: dict[str, Any]
) -> list[Path]:
    from mtharness.compare.systems import report_payload
    from mtharness.reports import tables

    written = []
    if args.json:
        written.append(atomic_write_json(args.json, report_payload(comps, sources)))
    if args.csv:
        written.append(atomic_write_text(args.csv, tables.to_csv(comps)))
    if args.markdown:
        written.append(atomic_write_text(args.markdown, tables.to_markdown(comps, correlations)))
    if args.latex:
        written.append(atomic_write_text(args.latex, tables.to_latex(comps)))
    if args.html:
        from mtharness.reports.html import render

        names = ", ".join(comps[0].systems)
        html = render(
            comps,
            f"mtharness comparison: {names}",
            correlations,
            sources.get("notes", []),
            {"seed": args.seed},
        )
        written.append(atomic_write_text(args.html, html))
    return written


def leaderboard_main(argv: Sequence[str]) -> int:
    """`mtharness leaderboard RESULTS_DIR`: every run's scores in one table per dataset and pair."""
    from mtharness.compare.leaderboard import write_leaderboard

    p = argparse.ArgumentParser(
        prog="mtharness leaderboard",
        description="Collect every scores.json under a folder into leaderboard.md and .csv.",
    )
    p.add_argument("results_dir", nargs="?", default="results", help="folder to search (default: results)")
    p.add_argument("--out", help="folder for leaderboard.md/.csv (default: RESULTS_DIR)")
    p.add_argument("--all", action="store_true", help="every run, not just the newest per translator")
    args = p.parse_args(list(argv))
    info = write_leaderboard(args.results_dir, args.out, args.all)
    for note in info["skipped"]:
        print(f"skipped {note}", file=sys.stderr)
    print(f"{info['runs']} runs, {info['groups']} dataset group(s): {info['markdown']} {info['csv']}")
    return 0


def report_main(argv: Sequence[str]) -> int:
    """`mtharness report RUN_DIR`: a self-contained HTML report of one finished run."""
    from mtharness.compare.analysis import analyse
    from mtharness.compare.runs import inputs_from_runs, load_run
    from mtharness.compare.systems import compare
    from mtharness.reports.html import render

    p = argparse.ArgumentParser(
        prog="mtharness report",
        description="Write an HTML report (scores with CIs, plots, segment browser) for a run.",
    )
    p.add_argument("run_dir", help="a finished run folder (with scores.json)")
    p.add_argument("--out", help="HTML file to write (default: RUN_DIR/report.html)")
    p.add_argument("--metrics", nargs="+", default=["bleu", "chrf"], choices=sorted(ALL_KINDS), metavar="M")
    p.add_argument("--ci-n", type=int, default=1000)
    p.add_argument("--seed", type=int, default=DEFAULT_SEED)
    p.add_argument("--worst", type=int, default=10)
    args = p.parse_args(list(argv))
    run = load_run(args.run_dir)
    comps = [
        compare(i, parse_specs(args.metrics), None, None, args.seed, 0.05, args.ci_n)
        for i in inputs_from_runs([args.run_dir])
    ]
    for comp in comps:
        analyse(comp, args.worst)
    ds = run.payload["dataset"]
    notes = []
    if float(run.payload.get("copy_rate") or 0) > 0.5:
        notes.append(
            f"copy rate {run.payload['copy_rate']:.3f}: the system copies its input, so round-trip scores mean nothing"
        )
    meta = {
        "dataset": f"{ds['name']} ({ds['pair']})",
        "segments": run.payload.get("n_segments"),
        "copy rate": run.payload.get("copy_rate"),
    }
    html = render(
        comps, f"mtharness run: {run.translator} on {ds['name']} ({ds['pair']})", notes=notes, meta=meta
    )
    out = atomic_write_text(args.out or Path(args.run_dir) / "report.html", html)
    print(f"wrote {out}")
    return 0
