"""The package's layering, enforced by reading every import statement (top-level and lazy ones).

core/textio/host <- data, translators, scoring <- validity <- run <- compare, gate <- reports, track <- serve
<- cli.
(run sits above validity: evaluate() applies the validity checks to a run's outputs; track logs a
finished run with its identity from compare, so it sits beside reports.)
A package may import its own modules and any package of a LOWER layer, never one beside or above it;
nothing imports cli; no `_private` name is imported across packages.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[2] / "src" / "mtharness"

LAYERS: dict[str, int] = {
    "core": 0,
    "textio": 0,
    "host": 0,
    "data": 1,
    "translators": 1,
    "scoring": 1,
    "validity": 2,
    "run": 3,
    "compare": 4,
    "gate": 4,
    "reports": 5,
    "track": 5,
    "serve": 6,  # the browser (`mtharness serve`): reads runs through run, compare, reports; cli starts it
    "cli": 7,
    "__main__": 8,
}
# textio reads and writes files and raises core's error: the one allowed edge inside layer 0
ALLOWED_SAME_LAYER = {("textio", "core")}


def unit_of(module: str) -> str | None:
    """'mtharness.run.cache' -> 'run'; 'mtharness' (the version) -> None."""
    parts = module.split(".")
    if parts[0] != "mtharness" or len(parts) == 1:
        return None
    return parts[1]


def module_name(path: Path, root: Path) -> str:
    rel = path.relative_to(root.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path) -> list[tuple[int, str, list[str]]]:
    """(line, imported module, imported names) for every import in the file, lazy ones included."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name, []) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [a.name for a in node.names]
            found.append((node.lineno, node.module, names))
            # `from mtharness import plots` imports the submodule mtharness.plots
            if node.module == "mtharness":
                found += [(node.lineno, f"mtharness.{n}", []) for n in names if n != "__version__"]
    return found


def violations(root: Path = PKG) -> list[str]:
    bad = []
    for path in sorted(root.rglob("*.py")):
        here = module_name(path, root)
        unit = unit_of(here)
        if unit is None:
            continue
        if unit not in LAYERS:
            bad.append(f"{path.name}: package {unit!r} has no layer in this test; add it to LAYERS")
            continue
        for line, target, names in imports(path):
            other = unit_of(target)
            if other is None or other == unit:
                continue
            where = f"{path.relative_to(root.parent)}:{line}"
            if other not in LAYERS:
                bad.append(f"{where}: imports unknown package {target}")
            elif (unit, other) not in ALLOWED_SAME_LAYER and LAYERS[other] >= LAYERS[unit]:
                bad.append(f"{where}: {unit} (layer {LAYERS[unit]}) imports {target} (layer {LAYERS[other]})")
            private = [n for n in names if n.startswith("_") and not n.startswith("__")]
            if private or any(p.startswith("_") for p in target.split(".")[2:]):
                bad.append(f"{where}: private name crosses packages: {target} {private}")
    return bad


def test_every_import_follows_the_layers() -> None:
    assert violations() == []


def test_every_package_has_a_layer() -> None:
    packages = {p.name for p in PKG.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    modules = {p.stem for p in PKG.glob("*.py") if p.stem != "__init__"}
    assert packages | modules <= set(LAYERS)


@pytest.mark.parametrize(
    ("unit", "source", "reason"),
    [
        ("scoring", "from mtharness.run.cache import CachedTranslator\n", "layer 1 imports layer 3"),
        ("data", "import mtharness.cli\n", "imports cli"),
        ("compare", "from mtharness.gate.rules import RuleSpec\n", "beside it"),
        ("run", "def f():\n    from mtharness.reports.html import render\n", "lazy upward import"),
        ("validity", "from mtharness.run.cache import LangIdCache\n", "validity is below run"),
        ("gate", "from mtharness.scoring.fastter import _encode\n", "private name"),
    ],
)
def test_a_forbidden_import_fails(tmp_path: Path, unit: str, source: str, reason: str) -> None:
    pkg = tmp_path / "mtharness" / unit
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "bad.py").write_text(source)
    found = violations(tmp_path / "mtharness")
    assert len(found) == 1, (reason, found)
    assert "bad.py" in found[0]
