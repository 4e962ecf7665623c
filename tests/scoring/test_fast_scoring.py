"""Golden tests for the parallel / reference-cached scoring path: identical to sacrebleu's corpus_score.

``workers=2`` forces the forked pool even on inputs below the size threshold, so these tests exercise
the chunked path; ``workers=1`` is the serial one. Equality is exact (==), not approximate: the
statistics are sacrebleu's own and are summed in the same order.
"""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from sacrebleu.metrics import BLEU, CHRF, TER
from sacrebleu.metrics.base import Metric

from mtharness.scoring.metrics import MetricSpec, direction_scores, make_metric, score_systems
from mtharness.scoring.sufstats import extract_statistics
from mtharness.textio import read_lines

KINDS = ("bleu", "chrf", "chrfpp", "ter")


def _theirs(kind: str, trg: str, hyps: list[str], refs: list[list[str]]) -> tuple[float, str]:
    metric = make_metric(MetricSpec(kind), trg)  # a fresh sacrebleu object, scored by sacrebleu
    score = metric.corpus_score(hyps, refs)
    return score.score, metric.get_signature().format()


def _assert_same(kind: str, trg: str, hyps: list[str], refs: list[list[str]], workers: int) -> None:
    ours = score_systems([MetricSpec(kind)], [hyps], refs, trg, workers=workers)[0][0]
    score, signature = _theirs(kind, trg, hyps, refs)
    assert (ours.score, ours.signature) == (score, signature), kind


def test_equal_sacrebleu_on_wmt23_en_de(wmt23: Path) -> None:
    """Paragraph-long segments (test_golden covers the full set through corpus_score)."""
    folder = wmt23 / "en-de"
    hyps = read_lines(folder / "systems" / "NLLB_Greedy.de")[:80]
    ref = read_lines(folder / "ref.A.de")[:80]
    for kind in ("bleu", "chrf", "chrfpp"):
        _assert_same(kind, "de", hyps, [ref], workers=2)
    _assert_same("ter", "de", hyps[:20], [ref[:20]], workers=2)  # TER on paragraphs is slow


def test_two_refs_four_systems_one_pass(wmt23: Path) -> None:
    folder = wmt23 / "zh-en"  # sentence-level English: TER with two refs stays quick
    n = 80
    refs = [read_lines(folder / "ref.A.en")[:n], read_lines(folder / "systems" / "ONLINE-A.en")[:n]]
    names = [p.stem for p in sorted((folder / "systems").glob("*.en")) if p.stem != "ONLINE-A"][:4]
    systems = [read_lines(folder / "systems" / f"{s}.en")[:n] for s in names]
    specs = [MetricSpec(k) for k in KINDS]
    ours = score_systems(specs, systems, refs, "en", workers=2)
    for hyps, row in zip(systems, ours, strict=True):
        for spec, res in zip(specs, row, strict=True):
            assert (res.score, res.signature) == _theirs(spec.kind, "en", hyps, refs)
            assert res.signature.startswith("nrefs:2|")


def test_zh_tokenizer_and_asian_ter(wmt23: Path) -> None:
    hyps = read_lines(wmt23 / "en-zh" / "systems" / "ONLINE-B.zh")[:300]
    ref = read_lines(wmt23 / "en-zh" / "ref.A.zh")[:300]
    for kind in ("bleu", "chrf", "ter"):
        _assert_same(kind, "zh", hyps, [ref], workers=2)
    bleu = score_systems([MetricSpec("bleu")], [hyps], [ref], "zh", workers=2)[0][0]
    assert "tok:zh" in bleu.signature


def test_variable_reference_count() -> None:
    hyps = ["the cat sat on the mat", "a dog barked", "hello world", "it rains"]
    refs: list[list[str | None]] = [
        ["the cat sat on a mat", "a dog barks", "hello there world", "it is raining"],
        ["a cat sat on the mat", None, "hi world", None],
    ]
    for kind in KINDS:
        metric = make_metric(MetricSpec(kind), "en")
        theirs = metric.corpus_score(hyps, refs)  # type: ignore[arg-type]
        ours = score_systems([MetricSpec(kind)], [hyps], refs, "en", workers=2)[0][0]  # type: ignore[arg-type]
        assert (ours.score, ours.signature) == (theirs.score, metric.get_signature().format())
        assert "nrefs:var" in ours.signature


def test_segment_scores_share_corpus_statistics(wmt23: Path) -> None:
    """Segment chrF/BLEU reuse the corpus chrF/BLEU statistics and equal sentence_score."""
    hyps = read_lines(wmt23 / "zh-en" / "systems" / "ONLINE-A.en")[:120]
    ref = read_lines(wmt23 / "zh-en" / "ref.A.en")[:120]
    specs = [MetricSpec("bleu"), MetricSpec("chrf")]
    scores, segments = direction_scores(specs, hyps, [ref], "en", workers=2)
    assert [s.score for s in scores] == [
        BLEU().corpus_score(hyps, [ref]).score,
        CHRF().corpus_score(hyps, [ref]).score,
    ]
    chrf, bleu = CHRF(), BLEU(effective_order=True)
    for i in (0, 7, 119):
        assert segments["chrF2"][i] == round(chrf.sentence_score(hyps[i], [ref[i]]).score, 4)
        assert segments["BLEU"][i] == round(bleu.sentence_score(hyps[i], [ref[i]]).score, 4)


def test_statistics_equal_sacrebleu_rows() -> None:
    """The per-segment rows themselves (what bootstrap tests resample) match, in order."""
    hyps = [f"word{i} and some more words number {i % 7}" for i in range(50)]
    refs = [[f"word{i} with some words number {i % 5}" for i in range(50)]]

    def fresh() -> list[Metric]:
        return [BLEU(), CHRF(word_order=2), TER()]

    ours = extract_statistics(fresh(), [hyps, hyps[::-1]], refs, workers=2)
    for metric, rows in zip(fresh(), ours, strict=True):
        assert rows[0] == metric._extract_corpus_statistics(hyps, refs)
        assert rows[1] == metric._extract_corpus_statistics(hyps[::-1], refs)


_word = st.text(alphabet="abcde.,!é中 ", min_size=0, max_size=12)
_corpus = st.integers(min_value=1, max_value=30).flatmap(
    lambda n: st.tuples(st.lists(_word, min_size=n, max_size=n), st.lists(_word, min_size=n, max_size=n))
)


@settings(max_examples=12, deadline=None)
@given(_corpus)
def test_random_text_equal_sacrebleu(pair: tuple[list[str], list[str]]) -> None:
    hyps, ref = pair
    specs = [MetricSpec(k) for k in KINDS]
    for workers in (1, 2):
        ours = score_systems(specs, [hyps], [ref], "en", workers=workers)[0]
        for spec, res in zip(specs, ours, strict=True):
            assert (res.score, res.signature) == _theirs(spec.kind, "en", hyps, [ref])
