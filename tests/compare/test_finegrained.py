"""compare-mt style analysis: salient n-grams, word F-measure by frequency, histograms, --sentence-level."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from sacrebleu.metrics import BLEU, CHRF

from mtharness.cli import main as cli_main
from mtharness.compare.finegrained import histogram, salient_ngrams, word_f_by_frequency


def test_salient_ngrams_find_what_one_system_gets_right() -> None:
    refs = [[["the", "red", "car", "stops"], ["the", "red", "car", "waits"], ["a", "red", "car"]]]
    a = [["the", "red", "car", "stops"], ["the", "red", "car", "waits"], ["a", "red", "car"]]
    b = [["the", "blue", "car", "stops"], ["the", "blue", "car", "waits"], ["a", "blue", "car"]]
    got = salient_ngrams(a, b, refs, k=3, max_n=2)
    a_top = [r["ngram"] for r in got["a_better"]]
    assert "red" in a_top and "red car" in a_top  # A matches them three times, B never
    assert all(r["a"] > r["b"] for r in got["a_better"]) and got["b_better"] == []
    swapped = salient_ngrams(b, a, refs, k=3, max_n=2)
    assert [r["ngram"] for r in swapped["b_better"]][:2] == a_top[:2]


def test_word_f_by_frequency_buckets() -> None:
    refs = [[["a", "b", "a"], ["a", "c"]]]  # a: 3 times, b and c: once
    hyps = [["a", "b", "x"], ["a", "a"]]
    rows = {r["bucket"]: r for r in word_f_by_frequency(hyps, refs)}
    # "a": 3 in the hypotheses, 3 in the references, 2 clipped matches (one in each segment)
    assert rows["3-4"]["precision"] == pytest.approx(2 / 3, abs=1e-4) and rows["3-4"][
        "recall"
    ] == pytest.approx(2 / 3, abs=1e-4)
    assert rows["1"]["recall"] == 0.5 and rows["0"]["precision"] == 0.0  # x is unseen
    assert histogram([0.0, 9.99, 10.0, 100.0, 55.0]) == [2, 1, 0, 0, 0, 1, 0, 0, 0, 1]


def test_analysis_and_sentence_level_file(tmp_path: Path) -> None:
    ref = ["The cat sat on the mat.", "It rained all day long.", "We will meet at noon tomorrow."] * 2
    systems = {
        "good": ["The cat sat on the mat.", "It rained all day.", "We will meet at noon tomorrow."] * 2,
        "poor": ["A cat is on a mat.", "Rain all the day.", "We meet noon."] * 2,
    }
    files = []
    for name, lines in systems.items():
        (tmp_path / f"{name}.en").write_text("\n".join(lines) + "\n")
        files.append(str(tmp_path / f"{name}.en"))
    (tmp_path / "ref.en").write_text("\n".join(ref) + "\n")
    out, sent = tmp_path / "c.json", tmp_path / "sent.tsv"
    argv = ["compare", "--refs", str(tmp_path / "ref.en"), "--systems", *files, "--metrics", "bleu", "chrf"]
    argv += ["--paired", "none", "--json", str(out), "--sentence-level", str(sent), "--quiet", "--analysis"]
    assert cli_main(argv) == 0
    analysis = json.loads(out.read_text())["directions"]["forward"]["analysis"]
    assert analysis["salient_ngrams"]["poor"]["against"] == "good"
    good_better = analysis["salient_ngrams"]["poor"]["b_better"]  # what the reference system gets right
    assert good_better and all(r["b"] > r["a"] for r in good_better)
    assert "The cat" in {r["ngram"] for r in good_better}  # matched twice by good, never by poor
    assert sum(analysis["sentence_histograms"]["counts"]["good"]) == 6
    assert {r["bucket"] for r in analysis["word_f_by_frequency"]["poor"]} >= {"0", "2"}  # doubled data
    rows = list(csv.DictReader(sent.open(), delimiter="\t"))
    assert len(rows) == 12 and rows[0].keys() == {"direction", "segment", "system", "BLEU", "chrF2"}
    for row in rows:  # sacrebleu's own sentence scores (BLEU as sacrebleu.sentence_bleu: effective order)
        hyp, r = systems[row["system"]][int(row["segment"]) - 1], ref[int(row["segment"]) - 1]
        assert float(row["BLEU"]) == pytest.approx(
            BLEU(effective_order=True).sentence_score(hyp, [r]).score, abs=1e-4
        )
        assert float(row["chrF2"]) == pytest.approx(CHRF().sentence_score(hyp, [r]).score, abs=1e-4)
