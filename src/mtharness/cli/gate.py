"""`mtharness gate` and `mtharness baseline`: argument parsing and rule configs (OmegaConf) only."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mtharness.core import MtharnessError
from mtharness.gate.baseline import load_baseline, load_run, save_baseline
from mtharness.gate.rules import (
    GateSettings,
    RuleSpec,
    check_comparable,
    parse_assignment,
    rule_specs_from_config,
    run_gate,
    with_rate_guards,
)

CONFIG_KEYS = ("alpha", "n_resamples", "seed", "require_significance", "rules")
GATE_EPILOG = """\
NAME is a score name (BLEU, chrF2, chrF2++, TER), optionally with a direction
(forward.BLEU, round_trip.chrF2), or a rate (copy_rate, off_target_rate). Drops are
measured in the metric's own direction: TER or copy_rate rising is a drop.
With no rule flags and no --config, configs/gate/default.yaml applies. Whatever the
rules, copy_rate and off_target_rate may rise at most 0.02 unless a rule names them.
Exit codes: 0 pass, 1 regression, 2 bad input or infrastructure error."""


def gate_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
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
        default=[],
        metavar="M",
        help="gate these metrics (e.g. bleu chrf comet cometkiwi): each fails on a significant drop, "
        "in every direction the baseline scored (like --max-drop NAME=0 --require-significance)",
    )
    p.add_argument("--config", metavar="NAME|FILE", help="rules from configs/gate/NAME.yaml or a YAML file")
    p.add_argument("--alpha", type=float, help="significance level (default 0.05)")
    p.add_argument("--n-resamples", type=int, help="bootstrap resamples (default 1000)")
    p.add_argument("--seed", type=int, help="bootstrap seed (default 12345, sacrebleu's)")
    p.add_argument("--junit", metavar="F", help="write JUnit XML (one test case per rule)")
    p.add_argument("--markdown", metavar="F", help="write markdown for a PR comment")
    p.add_argument("--json", metavar="F", help="write the verdict as JSON")
    return p


def gate_config_path(name: str) -> Path:
    """A YAML path as given, else configs/gate/NAME.yaml."""
    from mtharness.cli.run import config_dir

    path = Path(name)
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.is_file():
            raise MtharnessError(f"--config {name}: no such file")
        return path
    group = config_dir() / "gate"
    path = group / f"{name}.yaml"
    if not path.is_file():
        choices = sorted(p.stem for p in group.glob("*.yaml"))
        raise MtharnessError(
            f"--config {name}: no gate config {path}; choose from {choices} or give a YAML file"
        )
    return path


def load_gate_config(name: str) -> dict[str, Any]:
    import yaml
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    from mtharness.cli.configcheck import check_yaml_file

    path = gate_config_path(name)
    check_yaml_file(path)  # duplicate keys and syntax errors as one line with the line number
    try:
        raw = OmegaConf.to_container(OmegaConf.load(path), resolve=True)
    except (OmegaConfBaseException, yaml.YAMLError) as exc:
        raise MtharnessError(f"gate config {path}: not valid YAML ({' '.join(str(exc).split())})") from None
    if not isinstance(raw, dict):
        raise MtharnessError(f"gate config {path}: expected a mapping with keys {list(CONFIG_KEYS)}")
    config = {str(k): v for k, v in raw.items()}
    unknown = sorted(set(config) - set(CONFIG_KEYS))
    if unknown:
        raise MtharnessError(f"gate config {path}: unknown keys {unknown}; allowed: {list(CONFIG_KEYS)}")
    config["_path"] = str(path)
    return config


def assemble(args: argparse.Namespace) -> tuple[list[RuleSpec], GateSettings]:
    """Rules and settings from --config (or the default config) plus the rule flags; flags win."""
    flags = bool(args.max_drop or args.min_score or args.metrics)
    config = load_gate_config(args.config or "default") if args.config or not flags else {}
    where = f"gate config {config.get('_path')}"
    specs = rule_specs_from_config(config.get("rules") or [], where)
    significance = bool(args.require_significance or config.get("require_significance", False))
    for text in args.max_drop:
        name, value = parse_assignment(text, "--max-drop")
        specs.append(RuleSpec(name, max_drop=value))
    for text in args.min_score:
        name, value = parse_assignment(text, "--min-score")
        specs.append(RuleSpec(name, min_score=value))
    for kind in args.metrics:
        specs.append(RuleSpec(_metric_name(kind), max_drop=0.0, significance=True))
    if significance:
        specs = [RuleSpec(s.metric, s.max_drop, s.min_score, True, s.direction) for s in specs]
    specs = with_rate_guards(specs)
    defaults = GateSettings()
    settings = GateSettings(
        alpha=float(args.alpha if args.alpha is not None else config.get("alpha", defaults.alpha)),
        n_resamples=int(
            args.n_resamples
            if args.n_resamples is not None
            else config.get("n_resamples", defaults.n_resamples)
        ),
        seed=int(args.seed if args.seed is not None else config.get("seed", defaults.seed)),
    )
    if not 0 < settings.alpha < 1 or settings.n_resamples < 1:
        raise MtharnessError("--alpha must be in (0, 1) and --n-resamples at least 1")
    return specs, settings


def _metric_name(kind: str) -> str:
    """comet -> COMET, cometkiwi -> CometKiwi, chrf -> chrF2 ...: the names scores.json uses."""
    from mtharness.scoring.metrics import parse_specs, score_name

    return score_name(parse_specs([kind])[0], "en")


def gate_main(argv: Sequence[str]) -> int:
    from mtharness.reports.gate import terminal_table, write_error_outputs, write_outputs

    args = gate_parser().parse_args(list(argv))
    try:
        specs, settings = assemble(args)
        result = run_gate(load_baseline(args.baseline), load_run(args.current), specs, settings)
        print(terminal_table(result))
        write_outputs(result, args.junit, args.markdown, args.json)
    except Exception as exc:  # exit 1 means "regression": anything else is bad input/infrastructure (2)
        message = str(exc) if isinstance(exc, MtharnessError) else f"{type(exc).__name__}: {exc}"
        try:
            write_error_outputs(message, args.junit, args.markdown)
        except OSError as write_exc:
            print(f"mtharness gate: could not write the error report: {write_exc}", file=sys.stderr)
        print(f"mtharness gate: error: {message}", file=sys.stderr)
        return 2
    return 0 if result.passed else 1


def baseline_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="mtharness baseline", description="Save, refresh and show gate baselines."
    )
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
    return p


def describe(snap: Any) -> str:
    ds = snap.dataset
    lines = [
        f"{snap.origin}",
        f"  translator: {snap.translator}",
        f"  dataset:    {ds.get('name')} ({ds.get('pair')}), {ds.get('n_segments')} segments, "
        f"sha256 {str(ds.get('content_hash'))[:16]}…",
        f"  versions:   {snap.versions}",
    ]
    for direction, metrics in snap.scores.items():
        cells = "  ".join(f"{n} {m['score']:.2f}" for n, m in metrics.items())
        lines.append(f"  {direction:<10}  {cells}")
    lines += [f"  {k:<10}  {v:.3f}" for k, v in snap.rates.items()]
    return "\n".join(lines)


def baseline_main(argv: Sequence[str]) -> int:
    args = baseline_parser().parse_args(list(argv))
    if args.action == "show":
        print(describe(load_baseline(args.file)))
        return 0
    target = Path(args.file)
    if args.action == "save" and target.exists() and not args.force:
        raise MtharnessError(
            f"baseline {target} exists; `mtharness baseline refresh {args.run_dir} {target}` replaces it "
            "(or pass --force)"
        )
    if args.action == "refresh":
        if not target.exists():
            raise MtharnessError(f"baseline {target}: no such file; use `mtharness baseline save` first")
        old = load_baseline(target)
        for note in check_comparable(old, load_run(args.run_dir)):
            print(f"note: {note}")
    save_baseline(args.run_dir, target)
    print(describe(load_baseline(target)))
    return 0
