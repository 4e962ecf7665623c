"""End to end through real backends: Apertium (a real MT engine) and echo."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mtharness.cli.run import run_from_config
from mtharness.data.loaders import load_sample
from mtharness.run.evaluate import evaluate
from mtharness.run.record import RunRecord
from mtharness.translators.apertium import ApertiumTranslator, resolve_mode
from mtharness.translators.echo import EchoTranslator
from tests.conftest import compose

SPANISH_WORDS = {"el", "la", "de", "que", "los", "las", "y", "en", "un", "una", "es", "por", "con"}


def test_echo_perfect_round_trip_is_flagged_as_copy(tmp_path: Path) -> None:
    cfg = compose(["translator=echo", "progress=false"])
    record = run_from_config(cfg, tmp_path)
    assert isinstance(record, RunRecord)
    assert record.scores["round_trip"]["chrF2"].score == 100.0
    assert record.copy_rate == 1.0
    assert "copies its input" in (tmp_path / "summary.md").read_text()


def test_apertium_round_trip_on_sample(apertium: None, tmp_path: Path) -> None:
    cfg = compose(["translator=apertium", "progress=false"])
    record = run_from_config(cfg, tmp_path)
    assert isinstance(record, RunRecord)
    rt_chrf = record.scores["round_trip"]["chrF2"].score
    assert 0 < rt_chrf < 100
    assert record.copy_rate is not None and record.copy_rate < 0.05
    assert record.scores["forward"]["BLEU"].score > 10  # against our Spanish references
    hyp = (tmp_path / "hyp.es.txt").read_text(encoding="utf-8").split("\n")[:-1]
    rt = (tmp_path / "rt.en.txt").read_text(encoding="utf-8").split("\n")[:-1]
    assert len(hyp) == len(rt) == 150
    words = " ".join(hyp).lower().split()
    assert sum(w in SPANISH_WORDS for w in words) / len(words) > 0.15  # it is Spanish, not English
    rows = [json.loads(line) for line in (tmp_path / "segments.jsonl").read_text().splitlines()]
    assert rows[0]["source"] == load_sample().sources[0] and rows[0]["forward"] == hyp[0]
    assert set(rows[0]["scores"]["round_trip"]) == {"chrF2", "BLEU"}
    for name in ("BLEU", "chrF2", "chrF2++", "TER"):
        entry = record.scores["round_trip"][name]
        assert entry.signature.startswith("nrefs:1|") and entry.higher_is_better is (name != "TER")


@pytest.mark.parametrize(
    "text",
    [
        "",
        'Use the <b>bold</b> tag & "quotes"; it costs $5 | not `rm -rf /`.',
        "^start$ [bracket] \\back/slash @at #hash *star",
        "line with a\nnewline inside",
        "NUL\x00byte",
        "word " * 210_000,  # a 1 MB line
    ],
    # short ids: the id goes into $PYTEST_CURRENT_TEST, and a 1 MB value there makes every exec fail
    ids=["empty", "markup", "stream_syntax", "newline", "nul", "one_mb"],
)
def test_apertium_keeps_segment_boundaries(apertium: None, text: str) -> None:
    texts = ["The first line.", text, "The last line."]
    out = ApertiumTranslator().translate(texts, "en", "es")
    assert len(out) == 3
    assert out[0].lower().startswith("la primera") and out[2].lower().startswith("la última")


def test_apertium_mode_mapping_and_missing_pair() -> None:
    assert resolve_mode("en", "es", ["eng-spa", "spa-eng"]) == "eng-spa"
    assert resolve_mode("es", "en", ["eng-spa", "spa-eng"]) == "spa-eng"
    assert resolve_mode("en", "ca", ["eng-cat"]) == "eng-cat"
    with pytest.raises(Exception, match="apt-get install apertium-eng-deu"):
        resolve_mode("en", "de", ["eng-spa"])


def test_apertium_unknown_word_marks(apertium: None) -> None:
    text = ["The zorblax was green."]
    marked = ApertiumTranslator(mark_unknown=True).translate(text, "en", "es")[0]
    clean = ApertiumTranslator(mark_unknown=False).translate(text, "en", "es")[0]
    assert "*zorblax" in marked and "*" not in clean


def test_evaluate_without_round_trip_or_references() -> None:
    ds = load_sample(tgt_lang="ca")
    result = evaluate(ds, EchoTranslator(), round_trip=False, limit=5, progress=False)
    assert result.round_trip is None and result.forward.scores == {}
    assert len(result.forward.outputs) == 5


def test_apertium_words_never_move_across_segments(apertium: None) -> None:
    """Apertium reads a lone newline as a space: "AIR" + "End." became "Fin" + "de aire"."""
    out = ApertiumTranslator().translate(["Start.", "AIR", "End.", "", ""], "en", "es")
    assert out == ["Inicio.", "Aire", "Fin.", "", ""]
