"""cli/ holds parsing and printing only: command modules share cli.args, never each other."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO

CLI = REPO / "src" / "mtharness" / "cli"
# the helpers every command may use; a command module importing another command is a smell
SHARED = {
    "mtharness.cli.args",
    "mtharness.cli.hydra_errors",
    "mtharness.cli.configcheck",
    "mtharness.cli.failures",
    "mtharness.cli.launchers",
    "mtharness.cli.sweep",  # the run app's tracker step and multirun callback (Hydra's side, like launchers)
    "mtharness.cli.outputs",
    "mtharness.cli.pathnames",
    "mtharness.cli.secrets",
}


def cli_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    found |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    return {m for m in found if m.startswith("mtharness.cli")}


def test_command_modules_import_only_shared_cli_helpers() -> None:
    for path in sorted(CLI.glob("*.py")):
        if path.name == "__init__.py":
            continue
        assert cli_imports(path) <= SHARED, f"{path.name} imports {cli_imports(path) - SHARED}"


def test_domain_logic_left_cli() -> None:
    gate = (CLI / "gate.py").read_text(encoding="utf-8")
    assert "CONFIG_KEYS" not in gate and "def load_gate_config" not in gate
    assert "def align_report" not in (CLI / "align.py").read_text(encoding="utf-8")
