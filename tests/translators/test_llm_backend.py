"""LLMBackend plumbing: raw answers in the cache, cleanup on every lookup, per-direction prompt keys,
notes for segments.jsonl and scores.json.

The backend here is scripted (answers are the source wrapped in typical chat chatter): these tests
are about the cache and the runner, not about a model; the real model path is in test_llm.py.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from mtharness.core import Dataset, LanguagePair, MtharnessError, Segment
from mtharness.run.cache import CachedTranslator
from mtharness.run.evaluate import evaluate
from mtharness.run.writer import write_run
from mtharness.translators.llm_base import LLMBackend
from mtharness.translators.prompts import DEFAULT_ZERO_SHOT

FEW_SHOT = {
    **DEFAULT_ZERO_SHOT,
    "name": "few_shot",
    "k": 2,
    "dev_src": "mtharness:data/sample/dev.{src}",
    "dev_tgt": "mtharness:data/sample/dev.{tgt}",
}


class Scripted(LLMBackend):
    """Answers "Sure! Here is the translation:\\n\\n<source>" (or a refusal for sources saying so)."""

    def __init__(self, prompt: Any = DEFAULT_ZERO_SHOT, **kwargs: Any) -> None:
        super().__init__(prompt, seed=1, **kwargs)
        self.name = "scripted"
        self.calls: list[list[str]] = []

    def answer(self, texts: Sequence[str], src: str, tgt: str) -> list[str]:
        self.calls.append(list(texts))
        return [
            "I'm sorry, but I can't translate that."
            if "REFUSE" in t
            else f"Sure! Here is the translation:\n\n{t}"
            for t in texts
        ]

    def identity(self) -> dict[str, Any]:
        return {"backend": "scripted", **self.llm_identity()}


def dataset(n: int = 4) -> Dataset:
    texts = ["The river is wide.", "We met at noon.", "Please REFUSE this one.", "Birds sing."][:n]
    segs = tuple(Segment(str(i), t, (t,)) for i, t in enumerate(texts))
    return Dataset("toy", LanguagePair("en", "es"), segs, ("ref",))


def test_translate_cleans_and_notes_raw_answers() -> None:
    backend = Scripted()
    out = backend.translate(["A.", "B.\nC.", ""], "en", "es")
    assert out == ["A.", "B.\nC.", ""]  # a two-line source keeps two lines (sentence_level auto)
    fields, summary = backend.output_notes(["A.", "B.\nC.", "X"], "en", "es")
    assert fields["raw"][:2] == [
        "Sure! Here is the translation:\n\nA.",
        "Sure! Here is the translation:\n\nB.\nC.",
    ]
    assert fields["raw"][2] is None and fields["cleanup"][0] == ["preamble"]
    assert summary["llm_cleanup"] == {"segments": 2, "cleaned": 2, "empty": 0, "refused": 0, "enabled": True}


def test_cleanup_off_keeps_answers() -> None:
    backend = Scripted(cleanup=False)
    assert backend.translate(["A."], "en", "es") == ["Sure! Here is the translation:\n\nA."]
    assert backend.identity()["cleanup"]["enabled"] is False


def test_cache_stores_raw_answers_and_cleans_on_every_lookup(tmp_path: Path) -> None:
    backend = Scripted()
    cached = CachedTranslator(backend, tmp_path)
    first = cached.translate(["A.", "B."], "en", "es")
    assert first == ["A.", "B."]
    with sqlite3.connect(tmp_path / "translations.sqlite") as conn:
        stored = sorted(row[0] for row in conn.execute("SELECT output FROM translations"))
        identity = json.loads(conn.execute("SELECT identity FROM systems").fetchone()[0])
    assert stored == ["Sure! Here is the translation:\n\nA.", "Sure! Here is the translation:\n\nB."]
    assert identity["direction"]["prompt"]["name"] == "zero_shot"

    fresh = Scripted()  # a new process: nothing in memory, everything from the cache
    again = CachedTranslator(fresh, tmp_path)
    assert again.translate(["A.", "B."], "en", "es") == first and fresh.calls == []
    fields, _ = again.output_notes(["A.", "B."], "en", "es")
    assert fields["raw"] == stored  # raw outputs survive a rerun from the cache


def test_each_direction_and_prompt_has_its_own_cache_key(tmp_path: Path) -> None:
    backend = Scripted()
    cached = CachedTranslator(backend, tmp_path)
    cached.translate(["A."], "en", "es")
    cached.translate(["A."], "en", "de")
    few = Scripted(FEW_SHOT)
    CachedTranslator(few, tmp_path).translate(["A."], "en", "es")
    assert few.calls == [["A."]]  # another prompt never reuses zero-shot outputs
    with sqlite3.connect(tmp_path / "translations.sqlite") as conn:
        assert conn.execute("SELECT COUNT(DISTINCT system) FROM translations").fetchone()[0] == 3
    assert (
        cached.direction_identity("en", "es")["prompt"]["hash"]
        != few.direction_identity("en", "es")["prompt"]["hash"]
    )


def test_leaking_dev_set_is_refused_before_the_model_runs(tmp_path: Path) -> None:
    (tmp_path / "dev.en").write_text("The river is wide.\nOther.\n")
    (tmp_path / "dev.es").write_text("El río es ancho.\nOtro.\n")
    backend = Scripted(
        {**FEW_SHOT, "dev_src": str(tmp_path / "dev.{src}"), "dev_tgt": str(tmp_path / "dev.{tgt}")}
    )
    with pytest.raises(MtharnessError, match="never come from the test set"):
        CachedTranslator(backend, tmp_path / "cache").translate(["The river is wide."], "en", "es")
    assert backend.calls == []


def test_run_files_carry_raw_outputs_and_cleanup_counts(tmp_path: Path) -> None:
    result = evaluate(dataset(), CachedTranslator(Scripted(), tmp_path / "cache"), progress=False)
    notes = write_run(result, tmp_path / "run").translator_notes  # scores.json's llm_cleanup, prompt
    assert notes["llm_cleanup"]["forward"] == {
        "segments": 4, "cleaned": 3, "empty": 0, "refused": 1, "enabled": True,
    }  # fmt: skip
    assert notes["llm_cleanup"]["round_trip"]["segments"] == 4
    assert set(notes["prompt"]["hash"]) == {"en-es", "es-en"}
    rows = [json.loads(line) for line in (tmp_path / "run" / "segments.jsonl").read_text().splitlines()]
    assert rows[0]["forward"] == "The river is wide."
    assert rows[0]["forward_raw"].startswith("Sure! Here is the translation:")
    assert rows[0]["round_trip_raw"].endswith("The river is wide.")
    assert rows[2]["forward_cleanup"] == ["refused"]
    summary = (tmp_path / "run" / "summary.md").read_text()
    assert "LLM output cleanup" in summary and "forward: 3 of 4 cleaned, 0 empty, 1 refused" in summary
    assert "prompt zero_shot" in summary
