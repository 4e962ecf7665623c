"""stats.py against sacrebleu itself: scores, CIs and paired-test p-values on real WMT23 systems."""

from __future__ import annotations

from pathlib import Path

import pytest
from sacrebleu.metrics import BLEU, CHRF, TER
from sacrebleu.significance import PairedTest

from mtharness.core import MtharnessError
from mtharness.scoring.metrics import MetricSpec
from mtharness.scoring.significance import Scorer, bootstrap_ci, paired_test, system_stats

SYSTEMS = ["ONLINE-B", "GPT4-5shot", "NLLB_Greedy"]  # baseline first; one close, one far
SEED = 12345


def _lines(path: Path) -> list[str]:
    # the reading the WMT pack documents for reproducing official scores (no stripping)
    return path.read_text(encoding="utf-8").split("\n")[:-1]


@pytest.fixture(scope="module")
def ende(wmt23: Path) -> tuple[list[list[str]], dict[str, list[str]]]:
    folder = wmt23 / "en-de"
    refs = [_lines(folder / "ref.A.de")]
    return refs, {name: _lines(folder / "systems" / f"{name}.de") for name in SYSTEMS}


def _sacrebleu_paired(systems, metrics, refs, method, n, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("SACREBLEU_SEED", str(SEED))
    _, results = PairedTest(list(systems.items()), metrics, refs, test_type=method, n_samples=n)()
    return results


def test_paired_tests_agree_with_sacrebleu(ende, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    refs, hyps = ende
    ours = {}
    for kind in ("bleu", "chrf"):  # statistics once per system and metric, reused by both tests
        scorer = Scorer(MetricSpec(kind), refs, "de")
        ours[kind] = [scorer.stats(n, hyps[n]) for n in SYSTEMS]
    for method, n_samples in (("bs", 1000), ("ar", 1000)):
        _check_method(ours, hyps, refs, method, n_samples, monkeypatch)


def _check_method(ours, hyps, refs, method, n_samples, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    expected = _sacrebleu_paired(hyps, {"bleu": BLEU(), "chrf": CHRF()}, refs, method, n_samples, monkeypatch)
    for kind, name in (("bleu", "BLEU"), ("chrf", "chrF2")):
        stats = ours[kind]
        for i, sys in enumerate(stats):
            want = expected[name][i]
            assert sys.score == pytest.approx(want.score, abs=1e-9)
            if i == 0:
                if method == "bs":  # sacrebleu bootstraps the baseline's CI with the same seed
                    ci = bootstrap_ci(sys, n_samples, SEED)
                    assert ci.half_width == pytest.approx(want.ci, abs=1e-6)
                    assert ci.mean == pytest.approx(want.mean, abs=1e-4)
                continue
            res = paired_test(stats[0], sys, method, n_samples, SEED)
            assert res.p_value == pytest.approx(want.p_value, abs=0.01)
            assert res.delta == pytest.approx(want.score - expected[name][0].score)
            if method == "bs":
                assert res.ci is not None and res.ci.half_width == pytest.approx(want.ci, abs=1e-6)
    # the far system is significantly worse on both metrics
    far = paired_test(stats[0], stats[2], method, n_samples, SEED)
    assert far.significant and not far.improved and far.marker == "*"


def test_ter_subset_agrees_with_sacrebleu(ende, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # TER is slow on WMT en-de paragraphs: a small subset keeps this test short
    refs, hyps = ende
    keep = sorted(range(len(refs[0])), key=lambda i: len(refs[0][i]))[:60]  # the shortest paragraphs
    refs = [[r[i] for i in keep] for r in refs]
    hyps = {n: [h[i] for i in keep] for n, h in list(hyps.items())[:2]}
    scorer = Scorer(MetricSpec("ter"), refs, "de")
    base, other = (scorer.stats(n, h) for n, h in hyps.items())
    for method in ("bs", "ar"):
        expected = _sacrebleu_paired(hyps, {"ter": TER()}, refs, method, 500, monkeypatch)["TER"]
        res = paired_test(base, other, method, 500, SEED)
        assert base.score == pytest.approx(expected[0].score)
        assert res.p_value == pytest.approx(expected[1].p_value, abs=0.01)
        assert not res.higher_is_better


def test_multiple_references_and_signature() -> None:
    hyps = ["the cat sat on the mat", "a dog barked loudly", "it rains"]
    refs = [
        ["the cat sat on a mat", "a dog barked", "it is raining"],
        ["a cat sat on the mat", "the dog barked loudly", "it rains"],
    ]
    sys = system_stats(MetricSpec("bleu"), hyps, refs, "en", name="x")
    assert sys.score == pytest.approx(BLEU(trg_lang="en").corpus_score(hyps, refs).score)
    assert "nrefs:2" in sys.signature
    chrf = system_stats(MetricSpec("chrf"), hyps, refs, "en")
    assert chrf.segment_scores() == pytest.approx(
        [CHRF().sentence_score(h, [r[i] for r in refs]).score for i, h in enumerate(hyps)]
    )


def test_mismatched_inputs_are_one_line_errors() -> None:
    scorer = Scorer(MetricSpec("chrf"), [["a b", "c d"]], "en")
    with pytest.raises(MtharnessError, match="1 lines but the references have 2"):
        scorer.stats("short", ["a b"])
    a = scorer.stats("a", ["a b", "c d"])
    other = Scorer(MetricSpec("bleu"), [["a b", "c d"]], "en").stats("b", ["a b", "c"])
    with pytest.raises(MtharnessError, match="cannot compare"):
        paired_test(a, other)
    with pytest.raises(MtharnessError, match="choose bs or ar"):
        paired_test(a, a, method="xx")  # type: ignore[arg-type]
