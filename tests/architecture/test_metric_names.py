"""What a metric is and does is asked of the metric (scoring.protocol) or of the score it made, never
decided by its name: no module outside the metric registry compares anything to a metric's name
("TER", "comet", "chrF2" ...), so a new metric (say MetricX, lower is better) needs no edits elsewhere.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from mtharness.scoring import registry
from tests.architecture.test_import_rules import PKG

# where metrics are declared and looked up: the only modules that may spell their names
REGISTRY_HOMES = (
    "scoring/registry.py",
    "scoring/protocol.py",
    "scoring/sacrebleu_metrics.py",
    "scoring/comet/",
)


def metric_names() -> set[str]:
    """Every name (kind, score name, alias) of every shipped metric, lower-cased."""
    return {name for kind in registry.BUILTIN for name in registry.get(kind).info.names()}


NAMES = metric_names()
# (module, name): not a decision about a metric, with the reason
ALLOWED = {
    (
        "validity/checks.py",
        "comet",
    ): "a config key: validity.comet (before COMET was a metric) is refused with a hint",
}


def _literals(node: ast.AST) -> Iterator[str]:
    """String constants of an operand: itself, or the items of a literal tuple/list/set."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node.value
    elif isinstance(node, ast.Tuple | ast.List | ast.Set):
        for item in node.elts:
            yield from _literals(item)


def name_tests(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """(line, name) for each comparison of something with a metric's name (==, !=, in, not in),
    and each str.startswith/endswith with one."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            for operand in (node.left, *node.comparators):
                for text in _literals(operand):
                    if text.lower() in NAMES:
                        yield node.lineno, text
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in {"startswith", "endswith"}
        ):
            for arg in node.args:
                for text in _literals(arg):
                    if text.lower() in NAMES:
                        yield node.lineno, text


def test_the_names_cover_every_shipped_metric() -> None:
    assert {"bleu", "chrf2", "chrf++", "ter", "comet", "cometkiwi"} <= NAMES


def test_the_detector_finds_the_patterns_it_forbids() -> None:
    code = 'a = m == "TER"\nb = kind in ("comet", "x")\nc = n.startswith("chrF")\nd = s != "bleu_like"\n'
    assert [t for _, t in name_tests(ast.parse(code))] == ["TER", "comet", "chrF"]


def test_no_module_outside_the_registry_decides_by_a_metric_name() -> None:
    offenders = []
    for path in sorted(PKG.rglob("*.py")):
        rel = path.relative_to(PKG).as_posix()
        if rel.startswith(REGISTRY_HOMES):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        offenders += [
            f"{rel}:{line}: compares with {text!r}"
            for line, text in name_tests(tree)
            if (rel, text) not in ALLOWED
        ]
    assert not offenders, (
        "ask the metric (spec.info, registry.get(kind).info) or the score (higher_is_better, precision) "
        "instead of testing its name:\n" + "\n".join(offenders)
    )


def test_the_registry_is_where_the_names_live() -> None:
    for home in REGISTRY_HOMES:
        assert (PKG / home).exists(), home
    assert Path(registry.__file__).resolve() == (PKG / "scoring" / "registry.py").resolve()
