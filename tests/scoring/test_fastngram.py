"""The compiled n-gram counting (mtharness.scoring.fastngram) gives sacrebleu's statistics rows exactly.

The oracle is sacrebleu's own extraction (``_extract_corpus_statistics`` through the adapter) on a
fresh metric. Random unicode text covers astral characters, combining marks, every kind of
whitespace str.split knows, punctuation at word ends (chrF++), empty and whitespace-only segments,
several references with gaps (None), and segments long enough to leave the 63-bit packing (their
rows come from sacrebleu's code); then whole WMT23 corpora, and the wiring in sufstats.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sacrebleu.metrics import BLEU, CHRF
from sacrebleu.metrics.base import Metric

from mtharness.scoring import fastngram, sacrebleu_api, sufstats
from mtharness.scoring.metrics import MetricSpec, score_systems
from mtharness.textio import read_lines
from tests.helpers.installed import require

require("numba", reason="numba is not installed (pip install 'mtharness[fast]')")

# characters that stress every step: ASCII words and the 13a/intl/chrF++ punctuation, Latin with a
# combining accent, CJK (zh tokenizer), an astral emoji and math letter, a lone surrogate (valid in a
# str), whitespace of many kinds (tab, NBSP, ideographic space, U+2028, U+0085, the \x1c separators)
ALPHABET = [
    *"aAbBcC deE.,!?;:'\"()-&$%0123456789",
    "\u0301", "\u00e9", "\u00df", "\u4e2d", "\u6587", "\u3002", "\uff0c", "\U0001f600", "\U0001d400",
    "\udc80", "\t", "\u00a0", "\u3000", "\u2028", "\u0085", "\x1c", "\n",
]  # fmt: skip
TEXT = st.text(alphabet=st.sampled_from(ALPHABET), max_size=40)

BLEUS: list[Callable[[], Metric]] = [
    BLEU,
    lambda: BLEU(tokenize="none"),
    lambda: BLEU(tokenize="intl", lowercase=True),
    lambda: BLEU(tokenize="char"),
    lambda: BLEU(tokenize="zh"),
    lambda: BLEU(max_ngram_order=2),
    lambda: BLEU(max_ngram_order=6, lowercase=True),
]
CHRFS: list[Callable[[], Metric]] = [
    CHRF,
    lambda: CHRF(word_order=2),
    lambda: CHRF(word_order=1, char_order=3, lowercase=True),
    lambda: CHRF(char_order=8, word_order=3, beta=1),
    lambda: CHRF(whitespace=True, word_order=2),
    lambda: CHRF(eps_smoothing=True, word_order=2),
    lambda: CHRF(char_order=0, word_order=2),
]
METRICS = BLEUS + CHRFS


@pytest.fixture(autouse=True)
def _enabled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MTHARNESS_FAST_NGRAM", raising=False)


def theirs(make: Callable[[], Metric], systems: list[list[str]], refs: list[list[str | None]]) -> list[Any]:
    metric = make()
    sacrebleu_api.set_references(metric, refs)
    return [sacrebleu_api.segment_statistics(metric, hyps) for hyps in systems]


def assert_same(make: Callable[[], Metric], systems: list[list[str]], refs: list[list[str | None]]) -> None:
    ours = fastngram.statistics(make(), systems, refs)
    want = theirs(make, systems, refs)
    assert ours == want
    for rows_ours, rows_want in zip(ours, want, strict=True):  # ints, as sacrebleu's rows
        assert [type(v) for r in rows_ours for v in r] == [type(v) for r in rows_want for v in r]


@st.composite
def corpus(draw: st.DrawFn) -> tuple[list[list[str]], list[list[str | None]]]:
    n = draw(st.integers(1, 6))
    systems = [draw(st.lists(TEXT, min_size=n, max_size=n)) for _ in range(draw(st.integers(1, 3)))]
    n_refs = draw(st.integers(1, 3))
    refs: list[list[str | None]] = [draw(st.lists(TEXT, min_size=n, max_size=n)) for _ in range(n_refs)]
    for s in range(n):  # gaps: a segment may lack some references, never all
        for r in range(1, n_refs):
            if draw(st.booleans()) and draw(st.booleans()):
                refs[r][s] = None
    return systems, refs


@pytest.mark.parametrize("index", range(len(METRICS)))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=corpus())
def test_random_unicode_equals_sacrebleu(
    index: int, data: tuple[list[list[str]], list[list[str | None]]]
) -> None:
    systems, refs = data
    assert_same(METRICS[index], systems, refs)


def test_repeated_ngrams_clip_and_the_best_reference_wins() -> None:
    rng = random.Random(28)
    for _ in range(30):  # tiny vocabularies: many repeated n-grams, clipping and F-score ties
        words = ["a", "b", "c", "a,", "(b", "."]
        n = 12

        def line() -> str:
            return " ".join(rng.choice(words) for _ in range(rng.randint(0, 15)))  # noqa: B023

        systems = [[line() for _ in range(n)] for _ in range(2)]
        refs: list[list[str | None]] = [[line() for _ in range(n)] for _ in range(3)]
        for make in METRICS:
            assert_same(make, systems, refs)


def test_empty_and_whitespace_only_segments() -> None:
    systems = [["", " ", "\t\u3000", "a", ""], ["x y", "", "", " . ", "\u0085"]]
    refs: list[list[str | None]] = [["", "a b", " ", "", "z"], [" ", None, "", "a", ""]]
    for make in METRICS:
        assert_same(make, systems, refs)


def test_segments_without_any_reference_behave_as_in_sacrebleu() -> None:
    # sacrebleu gives chrF an empty row and BLEU a -1 reference length there (for an empty hypothesis)
    for make in METRICS:
        assert_same(make, [["", "a b"]], [[None, "a c"], [None, "a b"]])


def test_long_segments_beyond_the_packing_fall_back_to_sacrebleu() -> None:
    rng = random.Random(5)
    many = [chr(0x4E00 + i) for i in range(3000)] + [chr(0x1F300 + i) for i in range(300)]
    long_ref = "".join(rng.choice(many) for _ in range(20_000))  # > max_base(6) distinct characters
    long_hyp = long_ref[5000:] + "".join(rng.choice(many) for _ in range(3000))
    systems = [[long_hyp, "short one"], ["", long_ref]]
    refs: list[list[str | None]] = [[long_ref, "a short one"]]
    out = fastngram._matches(
        ["".join(h.split()) for h in systems[0] + systems[1]],
        ["".join(r.split()) for r in [long_ref, "a short one"]],
        np.array([0, 1, 2]),
        6,
        False,
        True,
    )
    assert out[1].tolist() == [True, False]  # the long segment left the compiled path
    for make in (CHRF, lambda: CHRF(word_order=2), lambda: BLEU(tokenize="char")):
        assert_same(make, systems, refs)


def test_a_small_packing_limit_sends_segments_to_sacrebleu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fastngram, "max_base", lambda order: 6)  # >5 distinct reference symbols
    rng = random.Random(11)
    systems = [["".join(rng.choice("abcdefg h") for _ in range(rng.randint(0, 30))) for _ in range(40)]]
    refs: list[list[str | None]] = [
        ["".join(rng.choice("abcdefg h") for _ in range(rng.randint(0, 30))) for _ in range(40)]
    ]
    for make in METRICS:
        assert_same(make, systems, refs)


def test_the_switch_turns_it_off(monkeypatch: pytest.MonkeyPatch) -> None:
    big = [["word " * 50] * 2000]
    assert fastngram.available() and sufstats.use_fast_ngram([BLEU()], big)
    assert not sufstats.use_fast_ngram([BLEU()], [["tiny"]])  # not worth numba's start-up
    monkeypatch.setenv("MTHARNESS_FAST_NGRAM", "0")
    assert not fastngram.available() and not sufstats.use_fast_ngram([BLEU()], big)


def test_metrics_it_does_not_count_are_refused() -> None:
    from sacrebleu.metrics import TER

    assert not fastngram.applies(TER())
    with pytest.raises(TypeError, match="TER"):
        fastngram.statistics(TER(), [["a"]], [["a"]])


@pytest.mark.parametrize("workers", [1, 2])
def test_extraction_through_sufstats_equals_sacrebleu(monkeypatch: pytest.MonkeyPatch, workers: int) -> None:
    monkeypatch.setattr(fastngram, "MIN_FAST_CHARS", 0)
    monkeypatch.setattr(sufstats, "MAX_CHUNK_SEGMENTS", 7)  # several chunks, serial and forked
    rng = random.Random(3)
    words = ["the", "a", "cat", "sat", "on", "mat", ",", ".", "dog", "ran"]
    n = 30
    systems = [
        [" ".join(rng.choice(words) for _ in range(rng.randint(0, 12))) for _ in range(n)] for _ in range(3)
    ]
    refs: list[list[str | None]] = [
        [" ".join(rng.choice(words) for _ in range(9)) for _ in range(n)] for _ in range(2)
    ]
    makers = [BLEU, CHRF, lambda: CHRF(word_order=2)]
    got = sufstats.extract_statistics([m() for m in makers], systems, refs, workers=workers)
    assert got == [theirs(m, systems, refs) for m in makers]


@pytest.mark.slow
def test_wmt23_every_system_equals_sacrebleu(wmt23: Path) -> None:
    """All zh-en systems (English, 13a), en-zh (zh tokenizer), en-de paragraphs, two references."""
    for pair, trg, tok in (("zh-en", "en", "13a"), ("en-zh", "zh", "zh"), ("en-de", "de", "13a")):
        folder = wmt23 / pair
        cut = 150 if pair == "en-de" else None  # en-de segments are paragraphs: slow for sacrebleu
        ref = read_lines(next(folder.glob(f"ref.*.{trg}")))[:cut]
        systems = [read_lines(p)[:cut] for p in sorted((folder / "systems").glob(f"*.{trg}"))]
        assert systems, folder
        refs: list[list[str | None]] = [list(ref)]
        for make in (lambda: BLEU(tokenize=tok), CHRF, lambda: CHRF(word_order=2)):  # noqa: B023
            assert_same(make, systems, refs)
        two: list[list[str | None]] = [list(ref), list(systems[-1])]
        assert_same(lambda: CHRF(word_order=2), systems[:2], two)
        assert_same(lambda: BLEU(tokenize=tok), systems[:2], two)  # noqa: B023


def test_wmt23_scores_and_signatures_through_compare_scoring(
    wmt23: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fastngram, "MIN_FAST_CHARS", 0)
    folder = wmt23 / "zh-en"
    ref = read_lines(folder / "ref.A.en")[:300]
    hyps = read_lines(folder / "systems" / "ONLINE-B.en")[:300]
    specs = [MetricSpec(k) for k in ("bleu", "chrf", "chrfpp")]
    ours = score_systems(specs, [hyps], [ref], "en", workers=1)[0]
    for spec, res, make in zip(specs, ours, (BLEU, CHRF, lambda: CHRF(word_order=2)), strict=True):
        metric = make()
        score = metric.corpus_score(hyps, [ref])
        assert (res.score, res.signature) == (score.score, metric.get_signature().format()), spec.kind
