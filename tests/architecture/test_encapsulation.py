"""Two boundaries, enforced by reading the source: sacrebleu's private API is used in exactly one
module (scoring/sacrebleu_api.py), and a translator's optional capabilities are asked for in exactly
one module (translators/base.py), never probed with getattr/hasattr elsewhere.

The capability names come from their one declaration (``translators.base.HOOKS``); a getattr/hasattr
probe, outside the backends' own modules, of any other attribute a shipped translator class has is
an undeclared hook and fails too (how ``set_answer_sink`` once slipped past a hand-written list).
"""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import pytest
from sacrebleu.metrics import BLEU, CHRF, TER
from sacrebleu.metrics.base import Score, Signature

from mtharness.translators import base
from tests.architecture.test_import_rules import PKG

SACREBLEU_ADAPTER = "scoring/sacrebleu_api.py"
CAPABILITIES_HOME = "translators/base.py"
DOC_TRANSLATORS = Path(__file__).resolve().parents[2] / "docs" / "translators.md"
CAPABILITIES = frozenset(base.HOOKS)
BACKENDS = "translators/"  # a backend's module may probe its own libraries' objects (tokenizers, torch)


def translator_classes() -> list[type]:
    """Every translator class the package ships: the classes in translators/*.py with translate()."""
    found = []
    for path in sorted((PKG / "translators").glob("*.py")):
        module = importlib.import_module(f"mtharness.translators.{path.stem}")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == module.__name__ and callable(getattr(cls, "translate", None)):
                found.append(cls)
    return found


def translator_attributes() -> frozenset[str]:
    """Public attributes and methods of the shipped translators (set in __init__ or on the class)."""
    names: set[str] = set()
    for cls in translator_classes():
        names.update(n for n in dir(cls) if not n.startswith("_"))
        for klass in cls.__mro__:
            init = klass.__dict__.get("__init__")
            if init is None or not hasattr(init, "__code__"):
                continue
            for node in ast.walk(ast.parse(inspect.cleandoc("\n" + inspect.getsource(init)))):
                if (
                    isinstance(node, ast.Attribute)
                    and isinstance(node.value, ast.Name)
                    and node.value.id == "self"
                    and isinstance(node.ctx, ast.Store)
                    and not node.attr.startswith("_")
                ):
                    names.add(node.attr)
    return frozenset(names - PROTOCOL)


PROTOCOL = {"name", "translate", "identity"}  # the protocol itself: always there, never probed for
TRANSLATOR_ATTRIBUTES = translator_attributes()


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


def undeclared_probes(path: Path) -> list[str]:
    """Probes of a translator attribute that is not a declared hook (a hook in all but name)."""
    return [
        f"{node.lineno}: {node.func.id}(..., {_literal_attr(node)!r})"  # type: ignore[attr-defined]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path)))
        if isinstance(node, ast.Call) and _literal_attr(node) in TRANSLATOR_ATTRIBUTES - CAPABILITIES
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
        if not rel.startswith(BACKENDS):
            bad += [
                f"{rel}:{hit} (a translator attribute probed like a hook: declare it in "
                f"{CAPABILITIES_HOME} HOOKS and ask through a function there)"
                for hit in undeclared_probes(path)
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


def test_every_hook_is_declared_documented_and_asked_for_in_one_place() -> None:
    home = (PKG / CAPABILITIES_HOME).read_text(encoding="utf-8")
    doc = base.__doc__ or ""
    assert len(set(base.HOOKS)) == len(base.HOOKS)
    for hook in base.HOOKS:
        assert f"``{hook}" in doc, f"{hook}: describe it in the module docstring of {CAPABILITIES_HOME}"
        assert f'getattr(translator, "{hook}"' in home, f"{hook}: ask for it through a function in base.py"
    probed = {hit.split("'")[1] for hit in capability_probes(PKG / CAPABILITIES_HOME)}
    assert probed <= CAPABILITIES, f"base.py asks for undeclared hooks: {probed - CAPABILITIES}"
    table = [
        line for line in DOC_TRANSLATORS.read_text(encoding="utf-8").splitlines() if line.startswith("| `")
    ]
    missing = [hook for hook in base.HOOKS if not any(f"`{hook}" in row.split(" | ")[0] for row in table)]
    assert not missing, f"add a row to the hook table of docs/translators.md for: {missing}"


def test_the_shipped_translators_are_seen() -> None:
    names = {cls.__name__ for cls in translator_classes()}
    assert {"HFTranslator", "OpenAITranslator", "CommandTranslator", "ApertiumTranslator"} <= names
    assert {"set_answer_sink", "max_input_tokens", "chat_template"} <= TRANSLATOR_ATTRIBUTES


@pytest.mark.parametrize(
    ("rel", "source"),
    [
        ("scoring/metrics2.py", "def f(m, s):\n    return m._aggregate_and_compute(s)\n"),
        ("compare/bad.py", "def f(m):\n    m._ref_cache = None\n"),
        ("scoring/bad.py", "from sacrebleu.significance import _bootstrap_resample\n"),
        ("gate/bad.py", "def f(m):\n    return getattr(m, '_force')\n"),
        ("run/bad.py", "def f(t):\n    return getattr(t, 'cache_counts', None)\n"),
        ("cli/bad.py", "def f(t):\n    return hasattr(t, 'context_free')\n"),
        ("run/cache2.py", "def f(t):\n    return getattr(t, 'set_answer_sink', None)\n"),
        ("run/bad.py", "def f(t):\n    return getattr(t, 'usage', None)\n"),
        ("translators/bad.py", "def f(t):\n    return getattr(t, 'prepare', None)\n"),
    ],
)
def test_a_violation_fails(tmp_path: Path, rel: str, source: str) -> None:
    path = tmp_path / "mtharness" / rel
    path.parent.mkdir(parents=True)
    path.write_text(source)
    found = violations(tmp_path / "mtharness")
    assert len(found) == 1 and found[0].startswith(rel), found
