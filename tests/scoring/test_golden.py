"""Golden tests: our scores equal sacrebleu's Python API on real WMT23 system outputs."""

from __future__ import annotations

from pathlib import Path

import pytest
from sacrebleu.metrics import BLEU, CHRF, TER

from mtharness.core import DirectionResult, LanguagePair
from mtharness.run.evaluate import score_direction
from mtharness.scoring.metrics import MetricSpec, corpus_score, parse_specs
from mtharness.textio import read_lines

SYSTEMS = ["ONLINE-W", "NLLB_Greedy", "AIRC"]  # best, middle, worst (AIRC.de starts with a BOM)


def _raw_lines(path: Path) -> list[str]:
    # exactly how the data README reproduces the official numbers (BOM kept)
    return path.read_text(encoding="utf-8").split("\n")[:-1]


@pytest.mark.parametrize("system", SYSTEMS)
def test_bleu_chrf_equal_sacrebleu_on_full_en_de(wmt23: Path, system: str) -> None:
    folder = wmt23 / "en-de"
    hyp = read_lines(folder / "systems" / f"{system}.de")
    ref = read_lines(folder / "ref.A.de")
    for kind, metric in (("bleu", BLEU()), ("chrf", CHRF()), ("chrfpp", CHRF(word_order=2))):
        ours = corpus_score(MetricSpec(kind), hyp, [ref], "de")
        theirs = metric.corpus_score(hyp, [ref])
        assert ours.score == pytest.approx(theirs.score, abs=1e-9)
        assert ours.signature == metric.get_signature().format()
        assert ours.name == theirs.name


def test_official_scores_reproduced(wmt23: Path) -> None:
    """The pack's derived table: sacrebleu on the raw files (BOM included) equals the official value."""
    table = (wmt23 / "derived" / "sacrebleu-2.6.0.corpus-scores.tsv").read_text().splitlines()
    rows = [r.split("\t") for r in table if r and not r.startswith("#")][1:]
    checked = 0
    for _year, pair, system, _ref, metric, score, signature, *_ in rows:
        if pair != "en-de" or metric == "TER" or system not in SYSTEMS:
            continue
        hyp = _raw_lines(wmt23 / pair / "systems" / f"{system}.de")
        ref = _raw_lines(wmt23 / pair / "ref.A.de")
        ours = corpus_score(MetricSpec(metric.lower()), hyp, [ref], "de")
        assert ours.score == pytest.approx(float(score), abs=1e-4), (system, metric)
        assert ours.signature == signature
        checked += 1
    assert checked == 2 * len(SYSTEMS)


def test_ter_and_zh_tokenizer_on_subsets(wmt23: Path) -> None:
    """TER is slow on paragraphs: a 25-segment subset; zh targets pick tok:zh and asian TER."""
    hyp = read_lines(wmt23 / "en-de" / "systems" / "NLLB_Greedy.de")[:25]
    ref = read_lines(wmt23 / "en-de" / "ref.A.de")[:25]
    ours = corpus_score(MetricSpec("ter"), hyp, [ref], "de")
    assert ours.score == pytest.approx(TER().corpus_score(hyp, [ref]).score)
    assert ours.higher_is_better is False
    zh_hyp = read_lines(wmt23 / "en-zh" / "systems" / "ONLINE-B.zh")[:300]
    zh_ref = read_lines(wmt23 / "en-zh" / "ref.A.zh")[:300]
    bleu = corpus_score(MetricSpec("bleu"), zh_hyp, [zh_ref], "zh")
    assert "tok:zh" in bleu.signature
    assert bleu.score == pytest.approx(BLEU(tokenize="zh").corpus_score(zh_hyp, [zh_ref]).score)
    ter = corpus_score(MetricSpec("ter"), zh_hyp, [zh_ref], "zh")
    assert "asian:yes" in ter.signature


def test_direction_scoring_with_two_references(wmt23: Path) -> None:
    """Multiple references: ONLINE-A stands in as a second reference stream."""
    folder = wmt23 / "en-de"
    hyp = read_lines(folder / "systems" / "ONLINE-W.de")[:80]
    refs = [read_lines(folder / "ref.A.de")[:80], read_lines(folder / "systems" / "ONLINE-A.de")[:80]]
    d = score_direction(
        DirectionResult("forward", LanguagePair("en", "de"), hyp), refs, parse_specs(["bleu", "chrf"])
    )
    assert d.scores["BLEU"].score == pytest.approx(BLEU().corpus_score(hyp, refs).score)
    assert d.scores["BLEU"].signature.startswith("nrefs:2|")
    assert d.segment_scores["chrF2"][3] == pytest.approx(
        round(CHRF().sentence_score(hyp[3], [r[3] for r in refs]).score, 4)
    )
