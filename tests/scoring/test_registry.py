"""The metric registry and the score type: one declaration per metric, read by every command."""

from __future__ import annotations

import pytest

from mtharness.core import MetricResult, MtharnessError, format_score
from mtharness.scoring import registry
from mtharness.scoring.metrics import MetricSpec, canonical_metric, parse_specs, score_name
from mtharness.scoring.protocol import CORPUS_STATISTICS, SEGMENT_MEAN, MetricInfo, SegmentMetric


@pytest.fixture(autouse=True)
def _own_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Metrics a test registers stay in that test."""
    monkeypatch.setattr(registry, "_loaded", dict(registry._loaded))
    monkeypatch.setattr(registry, "_plugins", dict(registry._plugins))


@pytest.mark.parametrize("kind", list(registry.BUILTIN))
def test_every_shipped_metric_declares_itself_consistently(kind: str) -> None:
    info = registry.get(kind).info
    assert info.kind == kind
    assert canonical_metric(info.score_name) == kind  # its score name is one of its names
    assert all(canonical_metric(name) == kind for name in info.names())
    assert score_name(MetricSpec(kind), "de") == info.score_name  # what sacrebleu / the scorer calls it
    lo, hi = info.range
    assert lo is None or hi is None or lo < hi
    expected = "sufficient_statistics" if info.aggregation == CORPUS_STATISTICS else "segment_means"
    assert info.resampling == expected


def test_directions_and_precisions_are_the_metrics() -> None:
    info = {k: registry.get(k).info for k in registry.BUILTIN}
    assert [k for k, i in info.items() if not i.higher_is_better] == ["ter", "metricx"]
    assert {k: i.precision for k, i in info.items()} == {
        "bleu": 2, "chrf": 2, "chrfpp": 2, "ter": 2, "comet": 4, "cometkiwi": 4, "metricx": 2,
        "xcomet": 4, "xcomet_qe": 4, "llm_mqm": 2, "llm_da": 1,
    }  # fmt: skip
    assert info["metricx"].range == (0.0, 25.0)
    assert info["cometkiwi"].needs_references is False and info["comet"].managed_env == "comet"
    assert info["comet"].aggregation == SEGMENT_MEAN and info["bleu"].aggregation == CORPUS_STATISTICS


def test_a_stored_score_keeps_its_precision_and_old_ones_fall_back() -> None:
    assert registry.precision_of("COMET", {"score": 0.5, "precision": 3}) == 3  # what the run recorded
    assert registry.precision_of("COMET", {"score": 0.5}) == 4  # an old scores.json: the metric's
    assert registry.precision_of("chrF2", {"score": 50.0}) == 2
    assert registry.precision_of("semantic_similarity", {"score": 0.9}) == 2  # not a metric: 2
    assert registry.precision_of("BLEU", {"precision": True}) == 2  # a bool is not a precision


def test_the_score_knows_which_way_is_better() -> None:
    ter = MetricResult("TER", 40.0, "sig", False, precision=2)
    bleu = MetricResult("BLEU", 30.0, "sig", True)
    assert ter.better_than(45.0) and not ter.better_than(35.0)
    assert ter.is_improvement(-1.0) and not ter.is_improvement(1.0)
    assert bleu.better_than(MetricResult("BLEU", 29.0, "sig", True)) and bleu.is_improvement(0.5)
    comet = MetricResult("COMET", 0.84123, "sig", True, precision=4)
    assert comet.format() == "0.8412" and comet.format(-0.0012, sign=True) == "-0.0012"
    assert comet.to_json()["precision"] == 4 and ter.to_json()["precision"] == 2
    assert format_score(12.345) == "12.35" and format_score(0.5, 3, sign=True) == "+0.500"


class Lengthy(SegmentMetric):
    info = MetricInfo(
        "lengthy", "Lengthy", higher_is_better=False, precision=1, range=(0.0, None), options=()
    )

    def segment_scores(self, args, sources, hyps, refs):  # type: ignore[no-untyped-def]
        return [float(len(h)) for h in hyps]


def test_a_metric_registered_in_code_is_known_everywhere() -> None:
    registry.register(Lengthy)
    assert canonical_metric("LENGTHY") == "lengthy"
    spec = MetricSpec("Lengthy")
    assert spec.segment_mean and not spec.higher_is_better
    scorer = spec.segment_metric().open({}, None)
    result, segments = scorer.score(["a", "b"], ["xx", "xxxx"], ["r", "r"])
    assert segments == [2.0, 4.0] and result.score == 3.0
    assert (result.name, result.higher_is_better, result.precision) == ("Lengthy", False, 1)
    assert result.to_json()["score"] == 3.0


def test_a_bad_target_is_one_line() -> None:
    with pytest.raises(MtharnessError, match=r"metric _target_ no_such_pkg\.Metric: cannot import it"):
        parse_specs({"mine": {"_target_": "no_such_pkg.Metric"}})
    with pytest.raises(MtharnessError, match="has no `info`"):
        parse_specs({"mine": {"_target_": "collections.OrderedDict"}})


def test_a_metric_rejects_keys_it_does_not_take() -> None:
    registry.register(Lengthy)
    with pytest.raises(MtharnessError, match=r"metrics\.lengthy: unknown key\(s\) \['beta'\]; known: none"):
        MetricSpec("lengthy", {"beta": 2}).segment_metric().check_ready({"beta": 2})
