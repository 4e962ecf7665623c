"""Checks on config files that Hydra would otherwise report with a stack trace."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml

from mtharness.core import MtharnessError


class _StrictLoader(yaml.SafeLoader):
    """A YAML loader that refuses duplicate keys (PyYAML silently keeps the last one)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise MtharnessError(
                    f"{self.name}, line {key_node.start_mark.line + 1}: duplicate key {key!r} "
                    f"(first on line {seen[key]}); keep one of them"
                )
            seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


def check_yaml_file(path: Path) -> None:
    try:
        with path.open(encoding="utf-8") as fh:  # a stream, so the loader's name is the path
            yaml.load(fh, Loader=_StrictLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f", line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise MtharnessError(f"{path}{where}: invalid YAML ({problem})") from None


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
