"""docs/running.md lists every shipped config: a config added to configs/ without a line in the
doc fails here."""

from __future__ import annotations

import re

from mtharness.host import config_dir
from tests.conftest import REPO


def config_block() -> str:
    text = (REPO / "docs" / "running.md").read_text(encoding="utf-8")
    start = text.index("```\nconfigs/\n")
    return text[start : text.index("```\n", start + 4)]


def test_every_config_is_in_the_running_doc() -> None:
    block = config_block()
    groups: dict[str, set[str]] = {}
    current: str | None = None
    for line in block.splitlines()[2:]:
        if m := re.match(r"  (\w+)/\s", line):
            current = m.group(1)
        if current:
            groups.setdefault(current, set()).update(re.findall(r"[\w]+", line))
    root = config_dir()
    missing = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        for yaml in sorted(folder.glob("*.yaml")):
            if yaml.stem not in groups.get(folder.name, set()):
                missing.append(f"{folder.name}/{yaml.stem}")
    assert not missing, f"configs missing from docs/running.md's config list: {missing}"
