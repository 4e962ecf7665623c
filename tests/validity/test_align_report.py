"""align_report lives in validity/ and takes the documents' language (it used to assume English)."""

from __future__ import annotations

from mtharness.data.loaders import SAMPLE_DIR
from mtharness.validity.align import align_report

ARTICLE, GARBLED = str(SAMPLE_DIR / "article.en"), str(SAMPLE_DIR / "article.garbled.en")


def test_language_picks_the_bleu_tokenizer() -> None:
    english = align_report(ARTICLE, GARBLED)
    chinese = align_report(ARTICLE, GARBLED, lang="zh")
    assert english["lang"] == "en" and chinese["lang"] == "zh"
    assert "tok:13a" in english["matched_scores"]["BLEU"]["signature"]
    assert "tok:zh" in chinese["matched_scores"]["BLEU"]["signature"]
    assert english["beads"] == chinese["beads"]  # the alignment itself does not depend on it
