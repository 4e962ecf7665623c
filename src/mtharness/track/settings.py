"""The ``tracker`` config group (configs/tracker/*.yaml) as one checked value."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mtharness.core import MtharnessError

KINDS = ("none", "mlflow", "wandb")
WANDB_MODES = ("online", "offline")


@dataclass(frozen=True)
class TrackerSettings:
    kind: str = "none"
    required: bool = False
    ci_n: int = 1000  # bootstrap resamples for the logged CI bounds; 0: none
    # mlflow
    uri: str | None = None
    experiment: str = "mtharness"
    run_name: str | None = None
    # wandb
    project: str = "mtharness"
    entity: str | None = None
    mode: str = "online"
    group: str | None = None

    @property
    def enabled(self) -> bool:
        return self.kind != "none"


def _text(node: Mapping[str, Any], key: str, default: str | None) -> str | None:
    value = node.get(key, default)
    return None if value is None or value == "" else str(value)


def tracker_settings(node: Mapping[str, Any] | None) -> TrackerSettings:
    """The settings of a config's ``tracker`` node (absent or null: no tracker)."""
    if not node:
        return TrackerSettings()
    kind = str(node.get("name", "none"))
    if kind not in KINDS:
        raise MtharnessError(f"tracker.name={kind}: unknown tracker; choose tracker=none, mlflow or wandb")
    required, ci_n = node.get("required", False), node.get("ci_n", 1000)
    if not isinstance(required, bool):
        raise MtharnessError(f"tracker.required={required!r}: must be true or false")
    if isinstance(ci_n, bool) or not isinstance(ci_n, int) or ci_n < 0:
        raise MtharnessError(f"tracker.ci_n={ci_n!r}: must be 0 (no CI bounds) or a number of resamples")
    mode = str(node.get("mode") or "online")
    if mode not in WANDB_MODES:
        raise MtharnessError(f"tracker.mode={mode}: must be online or offline")
    return TrackerSettings(
        kind=kind,
        required=required,
        ci_n=ci_n,
        uri=_text(node, "uri", None),
        experiment=_text(node, "experiment", "mtharness") or "mtharness",
        run_name=_text(node, "run_name", None),
        project=_text(node, "project", "mtharness") or "mtharness",
        entity=_text(node, "entity", None),
        mode=mode,
        group=_text(node, "group", None),
    )
