"""One translation loop and one home for the cache's SQL, enforced by reading the source.

``evaluate`` and the shard run translate through ``run/translate.py`` (translate_round_trip); nobody
else drives a translator chunk by chunk. Every SQL statement on the translation cache's tables lives
in ``run/cache.py`` (the shard merge included).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.architecture.test_import_rules import PKG

LOOP_HOME = "run/translate.py"
LOOP_FUNCTIONS = {"translate_all", "translate_direction"}
LOOP_USERS = ("run/evaluate.py", "run/shard.py")
SQL_HOME = "run/cache.py"
CACHE_TABLES = ("translations", "systems", "langid")
SQL_VERBS = ("SELECT ", "INSERT ", "ATTACH ", "DELETE FROM", "UPDATE ", "CREATE TABLE")


def _called_names(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            names.add(func.id if isinstance(func, ast.Name) else getattr(func, "attr", ""))
    return names


def loop_violations(root: Path = PKG) -> list[str]:
    bad = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if rel == LOOP_HOME:
            continue
        called = _called_names(ast.parse(path.read_text(encoding="utf-8")))
        bad += [
            f"{rel}: calls {name} (translate through {LOOP_HOME})" for name in sorted(called & LOOP_FUNCTIONS)
        ]
    return bad


def sql_violations(root: Path = PKG) -> list[str]:
    """String literals holding SQL on the translation cache's tables, outside run/cache.py."""
    bad = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if rel == SQL_HOME:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                text = node.value.upper()
                if any(v in text for v in SQL_VERBS) and any(
                    f" {t.upper()}" in text or f".{t.upper()}" in text for t in CACHE_TABLES
                ):
                    bad.append(f"{rel}:{node.lineno}: cache SQL outside {SQL_HOME}")
    return bad


def test_evaluate_and_the_shard_run_share_the_loop() -> None:
    assert loop_violations() == []
    for rel in LOOP_USERS:
        called = _called_names(ast.parse((PKG / rel).read_text(encoding="utf-8")))
        assert "translate_round_trip" in called, f"{rel} no longer translates through translate_round_trip"


def test_cache_sql_lives_in_the_cache_module() -> None:
    assert sql_violations() == []
    home = (PKG / SQL_HOME).read_text(encoding="utf-8")
    assert "ATTACH DATABASE" in home  # the shard merge is there


@pytest.mark.parametrize(
    ("rel", "source", "check"),
    [
        (
            "run/shard.py",
            "def f(t):\n    return translate_direction(t, 'forward', [], None)\n",
            loop_violations,
        ),
        ("cli/run.py", "def f(t):\n    return E.translate_all(t, [], 'en', 'de')\n", loop_violations),
        (
            "run/shard.py",
            "Q = 'INSERT OR IGNORE INTO main.translations SELECT * FROM part.translations'\n",
            sql_violations,
        ),
        ("run/writer.py", "Q = 'SELECT output FROM translations WHERE system = ?'\n", sql_violations),
    ],
)
def test_a_violation_fails(tmp_path: Path, rel: str, source: str, check: object) -> None:
    path = tmp_path / "mtharness" / rel
    path.parent.mkdir(parents=True)
    path.write_text(source)
    found = check(tmp_path / "mtharness")  # type: ignore[operator]
    assert len(found) == 1 and found[0].startswith(rel), found
