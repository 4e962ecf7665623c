"""Meta-evaluation statistics on small hand-made cases whose answers can be counted by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mtharness.compare.meta_eval import stats as st
from mtharness.compare.meta_eval.clusters import assign_ranks, rank_metrics
from mtharness.compare.meta_eval.significance import PermResult, perm_both, perm_both_calibrated, williams
from mtharness.compare.meta_eval.ties import MAX_PAIRS, PairLayout, calibrated


def arr(*xs: float) -> np.ndarray:
    return np.array(xs, dtype=np.float64)


def test_pair_counts_and_kendall_variants_by_hand() -> None:
    # pairs: (0,1) (0,2) (0,3) concordant; (1,2) (1,3) discordant; (2,3) tied on both sides
    gold, metric = arr(1, 2, 3, 3), arr(1, 3, 2, 2)
    c = st.pair_counts(gold, metric)
    assert (c.concordant, c.discordant, c.ties_human, c.ties_metric, c.ties_both) == (3, 2, 0, 0, 1)
    assert st.kendall(gold, metric, "23") == pytest.approx((3 + 1 - 2) / 6)
    assert st.kendall(gold, metric, "acc23") == pytest.approx(4 / 6)
    assert st.kendall(gold, metric, "b") == pytest.approx(1 / 5)  # (C - D) / sqrt(5 * 5)


def test_one_sided_ties_count_against_tau_23() -> None:
    gold, metric = arr(0, 0, 1), arr(1, 2, 3)  # the humans tie the first pair, the metric does not
    c = st.pair_counts(gold, metric)
    assert (c.concordant, c.ties_human) == (2, 1)
    assert st.kendall(gold, metric, "23") == pytest.approx((2 - 1) / 3)


def test_constant_vectors_are_undefined_and_left_out_of_the_mean() -> None:
    assert math.isnan(st.pearson(arr(1, 1, 1), arr(1, 2, 3)))
    assert math.isnan(st.spearman(arr(1, 2, 3), arr(5, 5, 5)))
    assert math.isnan(st.kendall(arr(1, 1, 1), arr(1, 2, 3), "b"))
    assert st.kendall(arr(1, 1, 1), arr(1, 1, 1), "acc23") == 1.0  # every pair tied on both sides
    # two systems x three items; item 0 has constant human scores, so item grouping averages items 1, 2
    gold = [1.0, 1.0, 2.0, 1.0, 2.0, 1.0]
    metric = [0.3, 0.1, 0.9, 0.5, 0.8, 0.2]
    item = st.average(st.pearson, gold, metric, 2, "item")
    assert item.n_groups == 2 and item.value == pytest.approx(1.0)


def test_missing_human_scores_drop_the_pair_per_grouping() -> None:
    # 3 systems x 2 items, system-major; one missing human score
    gold = [1.0, None, 2.0, 3.0, 3.0, 1.0]
    metric = [0.1, 0.9, 0.2, 0.8, 0.3, 0.4]
    groups = st.groups(gold, metric, 3, "item")
    assert [len(g) for g, _ in groups] == [3, 2]
    assert st.average(st.pearson, gold, metric, 3, "none").n_pairs == 5
    assert st.average(st.pearson, gold, metric, 3, "system").n_groups == 2  # system 0 keeps one entry
    expected = np.corrcoef([1, 2, 3, 3, 1], [0.1, 0.2, 0.8, 0.3, 0.4])[0, 1]
    assert st.average(st.pearson, gold, metric, 3, "none").value == pytest.approx(expected)


def test_pairwise_accuracy_counts_human_ties_only_when_the_metric_ties_too() -> None:
    assert st.pairwise_accuracy(arr(1, 1, 2), arr(1, 2, 3)) == pytest.approx(2 / 3)
    assert st.pairwise_accuracy(arr(1, 1, 2), arr(2, 2, 3)) == 1.0
    assert st.pairwise_accuracy(arr(1, 2, 3), arr(3, 2, 1)) == 0.0


def test_tie_calibration_finds_the_threshold_that_ties_the_human_tie() -> None:
    gold, metric = [0.0, 0.0, 1.0], [0.1, 0.2, 0.9]
    at_zero = st.kendall(arr(*gold), arr(*metric), "acc23")
    assert at_zero == pytest.approx(2 / 3)
    cal = calibrated(gold, metric, 3, "none")
    assert cal.value == pytest.approx(1.0)
    assert cal.epsilon == pytest.approx(0.1)  # the smallest threshold reaching it
    assert calibrated(gold, metric, 3, "none", "23").value == pytest.approx(1.0)


def test_tie_calibration_keeps_epsilon_zero_when_ties_do_not_help_and_skips_huge_inputs() -> None:
    cal = calibrated([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], 3, "none")
    assert (cal.value, cal.epsilon) == (1.0, 0.0)
    n = int(math.sqrt(2 * MAX_PAIRS)) + 2
    layout = PairLayout([1.0] * n, n, "none")
    assert layout.skipped and layout.calibrated(np.zeros(n)).value is None


def test_soft_pairwise_accuracy_is_one_when_the_metric_is_the_human_score() -> None:
    rng = np.random.default_rng(1)
    gold = rng.normal(size=(4, 30))
    assert st.soft_pairwise_accuracy(gold, gold, 200, 4) == 1.0
    p = st.system_pvalues(np.vstack([gold[0] + 5, gold[0]]), 200, 4)
    assert p[0, 1] == 0.0  # a system better on every segment: no swap reaches its lead


def test_perm_both_identical_metrics_and_seeded_draws() -> None:
    gold = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    same = perm_both(st.pearson, gold, [1, 3, 2, 4, 6, 5], [1, 3, 2, 4, 6, 5], 6, "none", 50, 7)
    assert (same.delta, same.p_value, same.n_resamples) == (0.0, 1.0, 50)
    a, b = [1.0, 2, 3, 4, 6, 5], [2.0, 1, 4, 3, 5, 6]
    first = perm_both(st.pearson, gold, a, b, 6, "none", 100, 11)
    assert first == perm_both(st.pearson, gold, a, b, 6, "none", 100, 11)
    assert first.delta > 0 and 0.0 <= first.p_value <= 1.0
    cal = perm_both_calibrated(gold, a, b, 6, "none", 30, 11)
    assert cal == perm_both_calibrated(gold, a, b, 6, "none", 30, 11)


def test_williams_equal_correlations_give_one_half_and_missing_scores_drop() -> None:
    gold = [1.0, 2.0, 3.0, 4.0, 5.0, None]
    w = williams(gold, [1, 2, 3, 5, 4, 9], [2, 1, 3, 4, 5, -9])
    assert w.n == 5 and w.r_a == pytest.approx(w.r_b)
    assert w.p_value == pytest.approx(0.5)
    assert williams([1.0, 2.0, 3.0], [1, 2, 3], [3, 2, 1]).p_value is None  # n < 4
    assert williams(gold, [1, 2, 3, 5, 4, 0], [2, 4, 6, 10, 8, 0]).p_value is None  # one ranking twice


def test_clusters_follow_mtme_assign_ranks() -> None:
    order = ["a", "b", "c", "d"]
    p = {
        ("a", "b"): 0.3,
        ("a", "c"): 0.01,
        ("b", "c"): 0.2,
        ("a", "d"): 0.0,
        ("b", "d"): 0.0,
        ("c", "d"): 0.04,
    }
    assert assign_ranks(order, lambda x, y: p[(x, y)], 0.05) == {"a": 1, "b": 1, "c": 2, "d": 3}
    ranked = rank_metrics({"x": 0.5, "y": 0.7}, lambda a, b: PermResult(0.5, 0.2, 10))
    assert ranked.order == ["y", "x"] and ranked.ranks == {"y": 1, "x": 1}
