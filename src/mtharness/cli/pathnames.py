"""Names that become parts of paths (translator.name, dataset.name in the run folder's name) made safe.

configs/evaluate.yaml builds the run folder as ``${results_dir}/runs/.../${safe_name:${translator.name}}``;
a name like ``../../../x`` or one with a slash or a control character must not move the run folder (and
with it the folder a later overwrite=true would clear) out of results_dir.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from mtharness.core import MtharnessError

_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|]+|\.\.+")
MAX_LEN = 80


def safe_name(value: Any) -> str:
    """One path component: separators, `..`, control and shell-hostile characters become `_`."""
    text = _UNSAFE.sub("_", str(value)).strip(" .")
    return text[:MAX_LEN] or "unnamed"


def register() -> None:
    if not OmegaConf.has_resolver("safe_name"):
        OmegaConf.register_new_resolver("safe_name", safe_name)


def explicit_run_dir(config: DictConfig) -> bool:
    """Whether the user gave hydra.run.dir (or hydra.sweep.dir) on the command line."""
    given = OmegaConf.select(config, "hydra.overrides.hydra", default=[]) or []
    return any(str(o).lstrip("+~").split("=", 1)[0] in ("hydra.run.dir", "hydra.sweep.dir") for o in given)


def check_under_results(config: DictConfig, run_dir: Path) -> None:
    """The composed run folder stays under results_dir unless hydra.run.dir was given explicitly."""
    if explicit_run_dir(config):
        return
    root = Path(os.path.realpath(str(OmegaConf.select(config, "results_dir", default="results"))))
    real = Path(os.path.realpath(run_dir))
    if real != root and root not in real.parents:
        raise MtharnessError(
            f"run folder {run_dir} is outside results_dir {root}; set hydra.run.dir explicitly to write there"
        )


register()
