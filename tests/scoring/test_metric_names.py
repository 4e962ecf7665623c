"""One resolver for metric names: every spelling a user may type maps to one metric kind."""

from __future__ import annotations

import pytest

from mtharness.core import MtharnessError
from mtharness.scoring.metrics import (
    SACREBLEU_OPTIONS,
    MetricSpec,
    apply_options,
    canonical_metric,
    corpus_score,
    make_metric,
    metric_kind_or_none,
    parse_specs,
    score_name,
)

SPELLINGS = {
    "bleu": ["bleu", "BLEU", "Bleu", " bleu "],
    "chrf": ["chrf", "chrF", "CHRF", "chrF2", "CHRF2"],
    "chrfpp": ["chrfpp", "chrF++", "chrF2++", "CHRF2PP", "chrf2pp"],
    "ter": ["ter", "TER", "Ter"],
}


@pytest.mark.parametrize("kind", list(SPELLINGS))
def test_every_spelling_resolves_to_its_kind(kind: str) -> None:
    for name in SPELLINGS[kind]:
        assert canonical_metric(name) == kind == MetricSpec(name).kind
    # sacrebleu's own score name of the kind is one of its spellings: names round-trip
    assert canonical_metric(score_name(MetricSpec(kind), "de")) == kind


@pytest.mark.parametrize("name", ["chrx", "bleu4", "chrF3", "meteor", "", "copy_rate"])
def test_unknown_names_list_the_known_ones(name: str) -> None:
    with pytest.raises(
        MtharnessError, match=r"unknown metric .*known names: bleu \(BLEU\), chrf \(chrF, chrF2\)"
    ):
        canonical_metric(name)
    assert metric_kind_or_none(name) is None


def test_config_and_list_forms_accept_any_spelling_once() -> None:
    assert [s.kind for s in parse_specs(["chrF2", "chrf", "BLEU", "chrF++"])] == ["chrf", "bleu", "chrfpp"]
    node = {"mine": {"metric": "chrF2", "beta": 3}, "BLEU": None}
    specs = parse_specs(node)
    assert [(s.kind, dict(s.args)) for s in specs] == [("chrf", {"beta": 3}), ("bleu", {})]
    assert score_name(specs[0], "de") == "chrF3"


def test_sacrebleu_options_reach_only_their_metrics() -> None:
    specs = parse_specs(["bleu", "chrf", "chrfpp", "ter"])
    got = apply_options(specs, {"tokenize": "none", "chrf_lowercase": True, "ter_normalized": True})
    assert [dict(s.args) for s in got] == [
        {"tokenize": "none"},
        {"lowercase": True},
        {"lowercase": True},
        {"normalized": True},
    ]
    signatures = [corpus_score(s, ["Ein Test ."], [["ein Test."]], "de").signature for s in got]
    assert "tok:none" in signatures[0] and "case:lc" in signatures[1] and "norm:yes" in signatures[3]
    with pytest.raises(MtharnessError, match="unknown sacrebleu option"):
        apply_options(specs, {"tokenise": "none"})
    # every option names a real argument of the sacrebleu class of each kind it configures
    for option, (kinds, arg) in SACREBLEU_OPTIONS.items():
        for kind in kinds:
            value = {"tokenize": "none", "smooth_method": "floor"}.get(
                option, 1 if "order" in arg or arg == "beta" else True
            )
            make_metric(apply_options([MetricSpec(kind)], {option: value})[0], "de")
