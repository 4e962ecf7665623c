"""Document mode: paragraphs, whole-document scores, monotonic alignment of a garbled copy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sacrebleu.metrics import CHRF

from mtharness.cli.run import run_from_config
from mtharness.data.documents import load_document, read_paragraphs, split_paragraphs
from mtharness.data.loaders import SAMPLE_DIR
from mtharness.validity.align import align_paragraphs
from tests.conftest import REPO, compose, run_cli

ARTICLE = SAMPLE_DIR / "article.en"
GARBLED = SAMPLE_DIR / "article.garbled.en"


def test_paragraphs_are_separated_by_blank_lines() -> None:
    assert split_paragraphs("a b\nc\n\n\n d \n\n") == ["a b c", "d"]
    ds = load_document(str(ARTICLE))
    assert len(ds) == 8 and {s.doc_id for s in ds.segments} == {"article"}
    assert ds.segments[2].id == "article:p3"


def test_alignment_finds_the_dropped_and_the_merged_paragraph() -> None:
    # the sample README: original paragraph 3 dropped; 6 and 7 merged into garbled paragraph 5
    alignment = align_paragraphs(read_paragraphs(ARTICLE), read_paragraphs(GARBLED))
    beads = [([i + 1 for i in b.original], [j + 1 for j in b.garbled]) for b in alignment.beads]
    assert beads == [([1], [1]), ([2], [2]), ([3], []), ([4], [3]), ([5], [4]), ([6, 7], [5]), ([8], [6])]
    assert [i + 1 for i in alignment.unmatched_original] == [3]
    assert alignment.unmatched_garbled == []


def test_alignment_handles_a_split_and_an_insertion() -> None:
    original = read_paragraphs(ARTICLE)[:4]
    first, second = original[1].split(". ", 1)
    garbled = [
        original[0],
        first + ".",
        second,
        "An unrelated line about cheese prices in Lyon.",
        *original[2:],
    ]
    beads = [
        ([i for i in b.original], [j for j in b.garbled]) for b in align_paragraphs(original, garbled).beads
    ]
    assert beads == [([0], [0]), ([1], [1, 2]), ([], [3]), ([2], [4]), ([3], [5])]


def test_align_cli_json_lists_unmatched_and_scores_pairs() -> None:
    proc = run_cli(["align", str(ARTICLE), str(GARBLED), "--json", "-"], cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["unmatched_original"] == [3] and report["unmatched_garbled"] == []
    assert {"original": [6, 7], "garbled": [5]} in [
        {k: b[k] for k in ("original", "garbled")} for b in report["beads"]
    ]
    whole = CHRF().corpus_score([" ".join(read_paragraphs(GARBLED))], [[" ".join(read_paragraphs(ARTICLE))]])
    assert report["document_scores"]["chrF2"]["score"] == pytest.approx(round(whole.score, 4))
    text = run_cli(["align", str(ARTICLE), str(GARBLED)], cwd=REPO).stdout
    assert "unmatched original paragraphs: [3]" in text


@pytest.mark.apertium
def test_document_run_scores_paragraphs_and_the_whole_article(apertium: None, tmp_path: Path) -> None:
    payload = run_from_config(  # scores.json's document
        compose(["experiment=document", "metrics=[bleu,chrf]", "progress=false"]), tmp_path
    ).to_json()
    assert payload["n_segments"] == 8
    doc = payload["document"]["documents"]["article"]
    assert doc["n_paragraphs"] == 8
    rows = [json.loads(line) for line in (tmp_path / "segments.jsonl").read_text().splitlines()]
    assert all("chrF2" in r["scores"]["round_trip"] for r in rows)
    # golden: the whole-document round-trip chrF is sacrebleu's on the joined paragraphs
    joined = CHRF().corpus_score(
        [" ".join(r["round_trip"] for r in rows)], [[" ".join(r["source"] for r in rows)]]
    )
    assert doc["round_trip"]["chrF2"]["score"] == pytest.approx(round(joined.score, 4))
    metric = CHRF()
    metric.corpus_score(["x"], [["x"]])  # sacrebleu fills nrefs into the signature on first use
    assert doc["round_trip"]["chrF2"]["signature"] == metric.get_signature().format()
    assert "document article (8 paragraphs" in (tmp_path / "summary.md").read_text()
