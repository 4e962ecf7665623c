"""Checks on config files that Hydra would otherwise report with a stack trace (strict YAML: textio)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from mtharness.textio import check_yaml_file


def check_config_dirs(dirs: Iterable[Path]) -> None:
    """Validate every YAML file under the config folders before Hydra composes them."""
    for folder in dirs:
        for path in sorted(Path(folder).rglob("*.yaml")):
            check_yaml_file(path)


def extra_config_dirs(argv: Sequence[str]) -> list[Path]:
    """Folders given with Hydra's --config-dir/-cd (both `-cd X` and `--config-dir=X`)."""
    dirs = []
    for i, arg in enumerate(argv):
        if arg in ("--config-dir", "-cd") and i + 1 < len(argv):
            dirs.append(Path(argv[i + 1]))
        elif arg.startswith("--config-dir="):
            dirs.append(Path(arg.split("=", 1)[1]))
    return dirs
