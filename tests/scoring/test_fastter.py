"""The compiled TER edit search (mtharness.scoring.fastter) gives sacrebleu's edit counts exactly.

sacrebleu's pure-Python ``translation_edit_rate`` is the oracle. Random sequences over tiny
vocabularies force many repeated words, hence many shift candidates, ties between candidates,
several shift rounds and (on long inputs) the 1000-candidate cut-off; extreme length ratios take the
widened beam. Then whole corpora: sacrebleu's TER statistics, scores and signatures on WMT23.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sacrebleu.metrics import TER
from sacrebleu.metrics.lib_ter import translation_edit_rate as sacrebleu_ter

from mtharness.scoring import fastter
from mtharness.scoring.metrics import MetricSpec, make_metric, score_systems
from mtharness.scoring.significance import Scorer
from mtharness.scoring.sufstats import extract_statistics, use_fast_ter
from mtharness.textio import read_lines
from tests.helpers.installed import require

require("numba", reason="numba is not installed (pip install 'mtharness[fast]')")


@pytest.fixture
def always_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    """Use the compiled path on any input size (it normally waits for big jobs)."""
    monkeypatch.setattr(fastter, "MIN_FAST_WORK", 0)
    monkeypatch.delenv("MTHARNESS_FAST_TER", raising=False)


def _random_pair(rng: random.Random, vocab: int, max_len: int) -> tuple[list[str], list[str]]:
    words = [f"w{i}" for i in range(vocab)]
    hyp = [rng.choice(words) for _ in range(rng.randint(0, max_len))]
    ref = [rng.choice(words) for _ in range(rng.randint(0, max_len))]
    return hyp, ref


def test_random_sentences_equal_sacrebleu() -> None:
    rng = random.Random(20261126)
    for _ in range(400):
        hyp, ref = _random_pair(rng, rng.randint(1, 8), 25)
        assert fastter.translation_edit_rate(hyp, ref) == sacrebleu_ter(hyp, ref), (hyp, ref)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.sampled_from("abcde"), max_size=18),
    st.lists(st.sampled_from("abcdef"), max_size=18),
)
def test_hypothesis_sequences_equal_sacrebleu(hyp: list[str], ref: list[str]) -> None:
    assert fastter.translation_edit_rate(hyp, ref) == sacrebleu_ter(hyp, ref)


def test_extreme_length_ratios_take_the_wide_beam() -> None:
    rng = random.Random(7)
    for short, long in ((1, 180), (2, 260), (3, 120)):
        a = [rng.choice("xyz") for _ in range(short)]
        b = [rng.choice("xyz") for _ in range(long)]
        assert fastter.translation_edit_rate(a, b) == sacrebleu_ter(a, b)  # ratio/2 > 25: wider beam
        assert fastter.translation_edit_rate(b, a) == sacrebleu_ter(b, a)


def test_long_repetitive_input_reaches_the_candidate_cut_off() -> None:
    from mtharness.scoring import _ter_kernels as kernels

    rng = random.Random(3)
    hyp = [rng.choice("abcd") for _ in range(90)]
    ref = [rng.choice("abcd") for _ in range(85)]
    h, r = fastter._encode(hyp, ref)
    _, _, checked = kernels.best_shift(h, r, 0)
    assert checked >= fastter.MAX_SHIFT_CANDIDATES  # the search stops on sacrebleu's limit
    assert fastter.translation_edit_rate(hyp, ref) == sacrebleu_ter(hyp, ref)


def test_empty_sides() -> None:
    for hyp, ref in (([], []), ([], ["a", "b"]), (["a", "b", "c"], [])):
        assert fastter.translation_edit_rate(hyp, ref) == sacrebleu_ter(hyp, ref)


def test_word_ids_are_shared_between_sides() -> None:
    h, r = fastter._encode(["the", "cat", "the"], ["cat", "sat"])
    assert h.dtype == np.int32 and list(h) == [0, 1, 0] and list(r) == [1, 2]


@pytest.mark.parametrize(
    "args", [{}, {"normalized": True}, {"no_punct": True}, {"case_sensitive": True}, {"asian_support": True}]
)
def test_segment_statistics_equal_sacrebleu_with_preprocessing(args: dict[str, bool]) -> None:
    hyps = ["The cat, sat on the mat.", "A dog barked: loudly!", "", "中文 句子 测试 cat"]
    refs = [["the cat sat on a mat .", "dog barked loudly", "nothing", "中文 测试 句子 cat"]]
    metric = TER(**args)
    metric._ref_cache = metric._cache_references(refs)  # type: ignore[arg-type]
    assert fastter.segment_statistics(metric, hyps) == metric._extract_corpus_statistics(hyps, None)


def test_switch_off_and_threshold(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MTHARNESS_FAST_TER", "0")
    assert not fastter.available() and not fastter.worth_it(10**9)
    monkeypatch.delenv("MTHARNESS_FAST_TER")
    assert fastter.available()
    assert not fastter.worth_it(fastter.MIN_FAST_WORK - 1) and fastter.worth_it(fastter.MIN_FAST_WORK)
    assert fastter.work(["a b c", "d", ""]) == 9 + 1 + 1  # squared word counts
    ter = make_metric(MetricSpec("ter"), "en")
    assert not use_fast_ter([make_metric(MetricSpec("bleu"), "en")], [["a b"] * 10**6])  # TER only
    assert use_fast_ter([ter], [["a b c"] * (fastter.MIN_FAST_WORK // 9 + 1)])
    assert not use_fast_ter([ter], [["a b c"] * (fastter.MIN_FAST_WORK // 9 - 1)])


def test_wmt23_two_refs_four_systems_scores_and_signatures(wmt23: Path, always_fast: None) -> None:
    folder = wmt23 / "zh-en"
    n = 150
    refs = [read_lines(folder / "ref.A.en")[:n], read_lines(folder / "systems" / "ONLINE-A.en")[:n]]
    names = [p.stem for p in sorted((folder / "systems").glob("*.en")) if p.stem != "ONLINE-A"][:4]
    systems = [read_lines(folder / "systems" / f"{s}.en")[:n] for s in names]
    ours = score_systems([MetricSpec("ter")], systems, refs, "en", workers=2)
    for hyps, (res,) in zip(systems, ours, strict=True):
        theirs = TER()
        score = theirs.corpus_score(hyps, refs)
        assert (res.score, res.signature) == (score.score, theirs.get_signature().format())


def test_wmt23_en_de_paragraph_statistics(wmt23: Path, always_fast: None) -> None:
    """Paragraph-long German segments: per-segment statistics equal, serial and forked."""
    folder = wmt23 / "en-de"
    n = 30
    ref = read_lines(folder / "ref.A.de")[:n]
    hyps = read_lines(folder / "systems" / "ONLINE-W.de")[:n]
    oracle = TER()
    oracle._ref_cache = oracle._cache_references([ref])  # type: ignore[arg-type]
    expected = oracle._extract_corpus_statistics(hyps, None)
    for workers in (1, 2):
        (got,) = extract_statistics([TER()], [hyps], [ref], workers=workers)[0]
        assert got == expected
    scorer = Scorer(MetricSpec("ter"), [ref], "de")  # the significance path
    assert scorer.stats("ONLINE-W", hyps).score == oracle._aggregate_and_compute(expected).score


def test_broken_numba_falls_back_to_sacrebleu(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken() -> None:
        raise RuntimeError("LLVM exploded")

    monkeypatch.setattr(fastter, "_kernels", broken)
    fastter.compiled.cache_clear()
    try:
        assert not fastter.worth_it(10**9)
        assert "compiled TER unavailable (RuntimeError: LLVM exploded)" in caplog.text
        ter = make_metric(MetricSpec("ter"), "en")
        assert not use_fast_ter([ter], [["a b c d"] * 10**5])  # scoring goes on with sacrebleu's TER
    finally:
        fastter.compiled.cache_clear()
