"""The README's `translator=command` example, run exactly as printed, gives `translator=apertium`'s
outputs line for line (forward hypotheses and round trips)."""

from __future__ import annotations

import shlex
from pathlib import Path

from tests.conftest import REPO, run_cli
from tests.docs.doc_blocks import blocks


def readme_command_example() -> list[str]:
    """The arguments of the README's translator=command line, as the shell would split them."""
    for block in blocks(REPO / "README.md"):
        for cmd in block.commands():
            if "translator=command" in cmd.text:
                words = shlex.split(cmd.text.replace("\\\n", " "), comments=True)
                assert words[:2] == ["mtharness", "run"] and not cmd.needs
                return words[2:]
    raise AssertionError("README.md has no translator=command example")


def test_readme_command_example_equals_translator_apertium(apertium: None, tmp_path: Path) -> None:
    args = readme_command_example()
    limit = [a for a in args if a.startswith("limit=")]
    common = ["progress=false", f"cache.dir={tmp_path / 'cache'}"]
    by_command = run_cli(["run", *args, *common, f"hydra.run.dir={tmp_path / 'command'}"], cwd=tmp_path)
    assert by_command.returncode == 0, by_command.stderr[-2000:]
    native = ["run", "translator=apertium", *limit, *common, f"hydra.run.dir={tmp_path / 'apertium'}"]
    by_apertium = run_cli(native, cwd=tmp_path)
    assert by_apertium.returncode == 0, by_apertium.stderr[-2000:]
    for name in ("hyp.es.txt", "rt.en.txt"):
        got = (tmp_path / "command" / name).read_text(encoding="utf-8").splitlines()
        want = (tmp_path / "apertium" / name).read_text(encoding="utf-8").splitlines()
        assert len(want) == int(limit[0].split("=")[1]) and got == want, name
