"""Gate rule configs (configs/gate/NAME.yaml or any YAML file) and how flags combine with them.

The schema lives here, beside the rules it builds, so the CLI only passes flags through.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mtharness.core import MtharnessError
from mtharness.gate.rules import (
    GateSettings,
    RuleSpec,
    parse_assignment,
    rule_specs_from_config,
    with_rate_guards,
)
from mtharness.host import config_dir
from mtharness.scoring.metrics import MetricSpec, score_name
from mtharness.textio import check_yaml_file

CONFIG_KEYS = ("alpha", "n_resamples", "seed", "require_significance", "rules")


def gate_config_path(name: str) -> Path:
    """A YAML path as given, else configs/gate/NAME.yaml."""
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
    """The config's keys (CONFIG_KEYS only) plus `_path`; any problem is one line naming the file."""
    import yaml
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

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


def _config_value(value: Any, key: str, where: str, kind: type) -> Any:
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise MtharnessError(f"{where}: {key} {value!r} is not a number") from None


def assemble(
    config_name: str | None,
    max_drop: Sequence[str] = (),
    min_score: Sequence[str] = (),
    require_significance: bool | None = None,
    alpha: float | None = None,
    n_resamples: int | None = None,
    seed: int | None = None,
    metrics: Sequence[str] = (),
) -> tuple[list[RuleSpec], GateSettings]:
    """Rules and settings from the config (or the default config) plus the rule flags; flags win.

    ``metrics`` (--metrics: bleu, chrf, comet, cometkiwi ...) gives each named metric a "significant
    drop fails" rule, like ``--max-drop NAME=0 --require-significance``.
    """
    flags = bool(max_drop or min_score or metrics)
    config = load_gate_config(config_name or "default") if config_name or not flags else {}
    where = f"gate config {config.get('_path')}"
    specs = rule_specs_from_config(config.get("rules") or [], where)
    significance = bool(require_significance or config.get("require_significance", False))
    for text in max_drop:
        name, value = parse_assignment(text, "--max-drop")
        specs.append(RuleSpec(name, max_drop=value))
    for text in min_score:
        name, value = parse_assignment(text, "--min-score")
        specs.append(RuleSpec(name, min_score=value))
    for kind in metrics:
        specs.append(RuleSpec(score_name(MetricSpec(kind), "en"), max_drop=0.0, significance=True))
    if significance:
        specs = [RuleSpec(s.metric, s.max_drop, s.min_score, True, s.direction) for s in specs]
    specs = with_rate_guards(specs)
    defaults = GateSettings()

    def pick(flag: Any, key: str, kind: type) -> Any:
        """The flag, else the config's value (null = the default), else the default."""
        value = flag if flag is not None else config.get(key)
        return getattr(defaults, key) if value is None else _config_value(value, key, where, kind)

    settings = GateSettings(
        alpha=pick(alpha, "alpha", float),
        n_resamples=pick(n_resamples, "n_resamples", int),
        seed=pick(seed, "seed", int),
    )
    if not 0 < settings.alpha < 1 or settings.n_resamples < 1:
        raise MtharnessError("--alpha must be in (0, 1) and --n-resamples at least 1")
    return specs, settings
