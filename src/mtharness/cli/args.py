"""The flags every subcommand shares, spelled and behaving the same everywhere.

- errors: one line on stderr (`mtharness <cmd>: error: ...`), exit 2;
- `--metrics`, `--max-drop NAME=X`: any name scoring.metrics.canonical_metric knows (chrf = chrF2);
- `--tgt-lang` (alias `--trg-lang`), `--seed` (default core.DEFAULT_SEED);
- `--json FILE`: the command's machine-readable result, written atomically; `-` writes it to stdout
  and moves the human-readable text to stderr, so stdout is pure JSON;
- sacrebleu's own metric options under sacrebleu's command-line names.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn, TextIO

from mtharness.core import DEFAULT_SEED, MtharnessError
from mtharness.scoring.metrics import SACREBLEU_OPTIONS, MetricSpec, canonical_metric
from mtharness.textio import atomic_write_json, to_json
from mtharness.validity.notes import COPY_WARN_RATE

USAGE_EXIT = 2


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors: `mtharness compare: error: ... (see mtharness compare --help)`."""

    def error(self, message: str) -> NoReturn:
        text = " ".join(message.split())
        self.exit(USAGE_EXIT, f"{self.prog}: error: {text} (see `{self.prog} --help`)\n")


def metric_name(text: str) -> str:
    """argparse type: a metric name in any spelling -> its kind; unknown -> one line naming the known."""
    try:
        return canonical_metric(text)
    except MtharnessError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_metrics(parser: argparse.ArgumentParser, default: tuple[str, ...] = ("bleu", "chrf")) -> None:
    parser.add_argument(
        "--metrics",
        nargs="+",
        type=metric_name,
        default=list(default),
        metavar="M",
        help=f"metrics: bleu, chrf (= chrF2), chrfpp (= chrF++), ter, comet, cometkiwi (managed env), any case "
        f"(default: {' '.join(default)})",
    )


def add_tgt_lang(parser: argparse.ArgumentParser, help_: str) -> None:
    parser.add_argument("--tgt-lang", "--trg-lang", dest="tgt_lang", metavar="LANG", help=help_)


def add_seed(parser: argparse.ArgumentParser, default: int | None = DEFAULT_SEED, what: str = "") -> None:
    shown = f"default {DEFAULT_SEED}, sacrebleu's" if default is not None else what
    parser.add_argument(
        "--seed",
        type=int,
        default=default,
        help=f"seed of every random draw (bootstrap, paired tests); recorded in the outputs ({shown})",
    )


def rate(text: str) -> float:
    """argparse type: a fraction between 0 and 1 (a warn rate)."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a rate between 0 and 1 (e.g. 0.05)")
    return value


def add_warn_rates(parser: argparse.ArgumentParser) -> None:
    """--copy-warn / --off-target-warn: the rates above which round-trip scores are flagged."""
    for flag, what in (("--copy-warn", "copy rate"), ("--off-target-warn", "off-target rate")):
        parser.add_argument(
            flag,
            type=rate,
            metavar="RATE",
            help=f"flag a run whose {what} is above RATE beside its round-trip scores (default: the "
            f"run's validity.warn.* setting, else {COPY_WARN_RATE})",
        )


def add_json(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--json",
        metavar="FILE",
        help=f"write {what} as JSON to FILE (atomically); `-`: to stdout, the text goes to stderr",
    )


def text_stream(args: argparse.Namespace) -> TextIO:
    """Where the human-readable output goes: stderr when --json - claims stdout."""
    return sys.stderr if getattr(args, "json", None) == "-" else sys.stdout


def write_json(target: str | None, payload: Any) -> str | None:
    """--json FILE: atomic file write, or stdout for `-`; returns the file written (None for stdout)."""
    if not target:
        return None
    if target == "-":
        sys.stdout.write(to_json(payload))
        sys.stdout.flush()
        return None
    return str(atomic_write_json(target, payload))


def add_sacrebleu_options(parser: argparse.ArgumentParser) -> None:
    """sacrebleu's metric options, under its command-line names and short forms."""
    g = parser.add_argument_group("sacrebleu metric options (as in the sacrebleu CLI)")
    g.add_argument(
        "-tok",
        "--tokenize",
        metavar="TOK",
        help="BLEU tokenizer (13a, none, intl, char, zh, ja-mecab, ko-mecab, flores101, flores200, spm); "
        "default: sacrebleu's choice for the target language",
    )
    g.add_argument("-lc", "--lowercase", action="store_true", default=None, help="BLEU: case-insensitive")
    g.add_argument(
        "-s", "--smooth-method", choices=["none", "floor", "add-k", "exp"], help="BLEU smoothing (exp)"
    )
    g.add_argument("-sv", "--smooth-value", type=float, help="BLEU smoothing value (floor 0.1, add-k 1)")
    g.add_argument(
        "--force", action="store_true", default=None, help="BLEU: score tokenized input without a warning"
    )
    g.add_argument("-cc", "--chrf-char-order", type=int, help="chrF character n-gram order (6)")
    g.add_argument("-cw", "--chrf-word-order", type=int, help="chrF word n-gram order (0 chrF, 2 chrF++)")
    g.add_argument("--chrf-beta", type=int, help="chrF beta (2)")
    g.add_argument("--chrf-whitespace", action="store_true", default=None, help="chrF: keep whitespace")
    g.add_argument("--chrf-lowercase", action="store_true", default=None, help="chrF: case-insensitive")
    g.add_argument("--chrf-eps-smoothing", action="store_true", default=None, help="chrF: eps smoothing")
    g.add_argument("--ter-case-sensitive", action="store_true", default=None, help="TER: case-sensitive")
    g.add_argument("--ter-asian-support", action="store_true", default=None, help="TER: Asian tokenization")
    g.add_argument("--ter-no-punct", action="store_true", default=None, help="TER: remove punctuation")
    g.add_argument("--ter-normalized", action="store_true", default=None, help="TER: normalize text")


def sacrebleu_options(args: argparse.Namespace) -> dict[str, Any]:
    """The sacrebleu options given on the command line (absent ones left out)."""
    return {k: getattr(args, k) for k in SACREBLEU_OPTIONS if getattr(args, k, None) is not None}


# suffixes of system files that are file types, not target languages
NOT_LANGS = {"txt", "tsv", "csv", "out", "hyp", "ref", "src", "sys", "log"}


def lang_suffix(path: str) -> str | None:
    """The language code a file name ends in (sys.de -> de); None for a file type (hyp.txt) or none."""
    lang = Path(path).suffix.lstrip(".")
    # a language code, not a file type: hyp.es.txt needs --tgt-lang es
    return lang if lang.isalpha() and len(lang) <= 3 and lang.lower() not in NOT_LANGS else None


def infer_tgt_lang(systems: Sequence[str]) -> str:
    """The target language from the system files' shared suffix (sys.de); one line if there is none."""
    suffixes = {lang_suffix(s) for s in systems}
    if len(suffixes) == 1 and (lang := suffixes.pop()) is not None:
        return lang
    raise MtharnessError("--tgt-lang is required (the system files do not share a language suffix like .de)")


def add_model_options(parser: argparse.ArgumentParser) -> None:
    """--comet-model / --cometkiwi-model and the score cache of commands that score files with them."""
    parser.add_argument("--comet-model", help="COMET checkpoint (folder/.ckpt) or hub id for files input")
    parser.add_argument(
        "--cometkiwi-model", help="CometKiwi checkpoint (folder/.ckpt) or hub id for files input"
    )
    parser.add_argument("--xcomet-model", help="xCOMET checkpoint (folder/.ckpt) or hub id for files input")
    parser.add_argument(
        "--xcomet-qe-model", help="xCOMET-QE (an XCOMET checkpoint) folder/.ckpt or hub id for files input"
    )
    parser.add_argument(
        "--cache-dir",
        default=os.environ.get("MTHARNESS_CACHE_DIR", "results/cache"),
        help="where comet.sqlite keeps COMET segment scores (default $MTHARNESS_CACHE_DIR or results/cache)",
    )


def add_metric_options(parser: argparse.ArgumentParser) -> None:
    """--metric-option KIND.KEY=VALUE: a model metric's setting, as `metrics.KIND.KEY=VALUE` in a run."""
    parser.add_argument(
        "--metric-option",
        nargs="+",
        action="extend",
        default=[],
        metavar="KIND.KEY=VALUE",
        help="a setting of a model metric scoring files, the keys of configs/metrics/KIND.yaml "
        "(e.g. llm_mqm.base_url=http://localhost:8000/v1 llm_mqm.model=NAME); repeatable",
    )


def metric_options(specs: Sequence[MetricSpec], items: Sequence[str]) -> list[MetricSpec]:
    """--metric-option KIND.KEY=VALUE into the specs (a number or true/false is read as YAML; anything
    else, null included, stays the text given)."""
    import yaml

    extra: dict[str, dict[str, Any]] = {}
    kinds = {s.kind for s in specs}
    for item in items:
        name, eq, value = item.partition("=")
        kind, dot, key = name.removeprefix("metrics.").partition(".")
        if not eq or not dot or not kind or not key:
            raise MtharnessError(f"--metric-option {item}: expected KIND.KEY=VALUE (e.g. llm_mqm.model=NAME)")
        kind = canonical_metric(kind)
        if kind not in kinds:
            raise MtharnessError(
                f"--metric-option {item}: {kind} is not one of --metrics {' '.join(sorted(kinds))}"
            )
        try:
            parsed = yaml.safe_load(value) if value.strip() else value
        except yaml.YAMLError:
            parsed = value
        extra.setdefault(kind, {})[key] = parsed if isinstance(parsed, str | int | float | bool) else value
    return [MetricSpec(s.kind, {**s.args, **extra[s.kind]}) if s.kind in extra else s for s in specs]


def with_model(spec: MetricSpec, args: argparse.Namespace) -> MetricSpec:
    """--<kind>-model (--comet-model, --cometkiwi-model, --xcomet-model, --xcomet-qe-model) into that
    metric's spec (hub default otherwise)."""
    model = getattr(args, f"{spec.kind}_model", None)
    return MetricSpec(spec.kind, {**spec.args, "model": model}) if model else spec
