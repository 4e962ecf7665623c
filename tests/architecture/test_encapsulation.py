"""Two boundaries, enforced by reading the source: sacrebleu's private API is used in exactly one
module (scoring/sacrebleu_api.py), and a translator's optional capabilities are asked for in exactly
one module (translators/base.py), never probed with getattr/hasattr elsewhere.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from sacrebleu.metrics import BLEU, CHRF, TER
from sacrebleu.metrics.base import Score, Signature

from tests.architecture.test_import_rules import PKG

SACREBLEU_ADAPTER = "scoring/sacrebleu_api.py"
CAPABILITIES_HOME = "translators/base.py"
CAPABILITIES = {
    "stats", "run_info", "check_direction", "cacheable", "context_free", "batch_keyed",
    "direction_identity", "translate_raw", "finish", "output_notes",
}  # fmt: skip


def sacrebleu_private_names() -> set[str]:
    """Every single-underscore name on sacrebleu's metric, score and signature objects."""
    objects = [BLEU(), CHRF(), TER(), BLEU, CHRF, TER, Score, Signature]
    return {n for o in objects for n in dir(o) if n.startswith("_") and not n.startswith("__")}


PRIVATE = sacrebleu_private_names()


def _literal_attr(node: ast.Call) -> str | None:
    """The attribute name of getattr(x, "name", ...) / hasattr(x, "name")."""
    if isinstance(node.func, ast.Name) and node.func.id in {"getattr", "hasattr"} and len(node.args) >= 2:
        arg = node.args[1]
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            return arg.value
    return None


def sacrebleu_private_uses(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "sacrebleu":
            parts = (node.module or "").split(".")
            names = [a.name for a in node.names]
            if any(p.startswith("_") for p in parts) or any(
                n.startswith("_") and not n.startswith("__") for n in names
            ):
                found.append(f"{node.lineno}: from {node.module} import {', '.join(names)}")
        elif isinstance(node, ast.Attribute) and node.attr in PRIVATE:
            found.append(f"{node.lineno}: .{node.attr}")
        elif isinstance(node, ast.Call) and _literal_attr(node) in PRIVATE:
            found.append(f"{node.lineno}: getattr/hasattr {_literal_attr(node)!r}")
    return found


def capability_probes(path: Path) -> list[str]:
    return [
        f"{node.lineno}: {node.func.id}(..., {_literal_attr(node)!r})"  # type: ignore[attr-defined]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path)))
        if isinstance(node, ast.Call) and _literal_attr(node) in CAPABILITIES
    ]


def violations(root: Path = PKG) -> list[str]:
    bad = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if rel != SACREBLEU_ADAPTER:
            bad += [
                f"{rel}:{hit} (sacrebleu private API outside {SACREBLEU_ADAPTER})"
                for hit in sacrebleu_private_uses(path)
            ]
        if rel != CAPABILITIES_HOME:
            bad += [
                f"{rel}:{hit} (translator capability probed outside {CAPABILITIES_HOME})"
                for hit in capability_probes(path)
            ]
    return bad


def test_the_private_name_list_is_real() -> None:
    assert {"_aggregate_and_compute", "_ref_cache", "_force", "_extract_corpus_statistics"} <= PRIVATE


def test_boundaries_hold() -> None:
    assert violations() == []


def test_the_adapter_and_the_capabilities_home_exist() -> None:
    assert sacrebleu_private_uses(PKG / SACREBLEU_ADAPTER), (
        "the adapter no longer uses sacrebleu's private API?"
    )
    assert capability_probes(PKG / CAPABILITIES_HOME)


@pytest.mark.parametrize(
    ("rel", "source"),
    [
        ("scoring/metrics2.py", "def f(m, s):\n    return m._aggregate_and_compute(s)\n"),
        ("compare/bad.py", "def f(m):\n    m._ref_cache = None\n"),
        ("scoring/bad.py", "from sacrebleu.significance import _bootstrap_resample\n"),
        ("gate/bad.py", "def f(m):\n    return getattr(m, '_force')\n"),
        ("run/bad.py", "def f(t):\n    return getattr(t, 'stats', None)\n"),
        ("cli/bad.py", "def f(t):\n    return hasattr(t, 'context_free')\n"),
    ],
)
def test_a_violation_fails(tmp_path: Path, rel: str, source: str) -> None:
    path = tmp_path / "mtharness" / rel
    path.parent.mkdir(parents=True)
    path.write_text(source)
    found = violations(tmp_path / "mtharness")
    assert len(found) == 1 and found[0].startswith(rel), found
