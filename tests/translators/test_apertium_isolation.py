"""Apertium gives every segment the output it gives that segment alone (issue 14).

Real WMT23 English news sentences (en-zh/src.en is sentence-level) through the real Apertium:
in one batch, reversed, one at a time, in chunks of 7 or 256, sharded and merged, and from a
cache another run filled. Before the fix, 22 of 300 such sentences translated differently alone.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from mtharness.translators.apertium import ApertiumTranslator
from mtharness.translators.apertium_pipeline import escape, load_pipeline, unescape
from tests.conftest import REPO, SHARED_DATA, apertium_has

pytestmark = [pytest.mark.apertium, pytest.mark.shared_data]

N = 320
SOURCE = SHARED_DATA / "wmt23" / "en-zh" / "src.en"
ENV = {"PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)])}


@pytest.fixture(scope="module")
def sentences(apertium: None) -> list[str]:
    if not SOURCE.exists():
        pytest.skip(f"WMT23 data not found at {SOURCE} (set MTHARNESS_DATA to the shared/data folder)")
    lines = SOURCE.read_text(encoding="utf-8").split("\n")[:N]
    assert len(lines) == N and all(line.strip() for line in lines)
    return lines


@pytest.fixture(scope="module")
def batch(sentences: list[str]) -> list[str]:
    return ApertiumTranslator().translate(sentences, "en", "es")


def test_batch_equals_reversed_and_alone(sentences: list[str], batch: list[str]) -> None:
    translator = ApertiumTranslator()
    reversed_out = translator.translate(sentences[::-1], "en", "es")[::-1]
    assert [i for i, (a, b) in enumerate(zip(batch, reversed_out, strict=True)) if a != b] == []
    sample = sorted(random.Random(14).sample(range(N), 20))
    # the sentences that leaked before the fix (found with plain `apertium`) are in the check too
    sample = sorted({*sample, 82, 107, 111, 115, 118, 155})
    alone = {i: translator.translate([sentences[i]], "en", "es")[0] for i in sample}
    assert {i: batch[i] for i in sample} == alone
    assert translator.tagger_starts > 0


def test_every_installed_mode_is_isolated(sentences: list[str], batch: list[str]) -> None:
    """Each mode parses its own pipeline; Spanish input for spa-eng is Apertium's own output."""
    inputs = {"en": sentences[:40], "es": batch[:40]}
    checked = 0
    for mode, (src, tgt) in {
        "eng-spa": ("en", "es"),
        "spa-eng": ("es", "en"),
        "eng-cat": ("en", "ca"),
    }.items():
        if not apertium_has(mode):
            continue
        translator = ApertiumTranslator()
        texts = inputs[src]
        out = translator.translate(texts, src, tgt)
        assert out == translator.translate(texts[::-1], src, tgt)[::-1], mode
        for i in (7, 33):
            assert translator.translate([texts[i]], src, tgt) == [out[i]], (mode, i)
        checked += 1
    assert checked >= 2


def test_pipeline_comes_from_the_mode_file() -> None:
    if not apertium_has("eng-spa"):
        pytest.skip("Apertium eng-spa not installed")
    plain = load_pipeline("eng-spa", mark_unknown=False)
    marked = load_pipeline("eng-spa", mark_unknown=True)
    assert plain.tagger is not None and "-d" in plain.tagger and "-z" in plain.tagger
    stages = [s for s in plain.head + plain.tail if "wblank" not in s[0]]
    assert plain.head[0][0] == "lt-proc" and all("-z" in s for s in stages)
    assert plain.tail[-2][-2] == "-n" and marked.tail[-2][-2] == "-g"  # `-u` = generator -n
    if apertium_has("eng-cat"):  # perceptron tagger (-x): no open class to corrupt, streamed
        assert load_pipeline("eng-cat", mark_unknown=False).tagger is None


def test_stream_characters_round_trip() -> None:
    text = "a\\b ^c$ [d] /e <f> @g *h #i {j}"
    assert unescape(escape(text)) == text
    assert escape("two\r\nlines\x00") == "two  lines"


def _args(tmp: Path, name: str, cache: Path | None, *extra: str) -> list[str]:
    args = [sys.executable, "-m", "mtharness", "run", "translator=apertium", "dataset=files"]
    args += [f"dataset.src={SOURCE}", "dataset.src_lang=en", "dataset.tgt_lang=es", "progress=false"]
    args += [f"hydra.run.dir={tmp / name}", f"limit={N}", *extra]
    return args + ([f"cache.dir={cache}"] if cache is not None else ["cache.enabled=false"])


def _run(tmp: Path, *runs: tuple[str, Path | None, tuple[str, ...]]) -> list[Path]:
    """Start the runs together (concurrent writers where they share a cache); all must succeed."""
    env = {**os.environ, **ENV}
    procs = [
        subprocess.Popen(_args(tmp, name, cache, *extra), cwd=tmp, env=env, stderr=subprocess.PIPE, text=True)
        for name, cache, extra in runs
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err[-2000:]
    return [tmp / name for name, _, _ in runs]


def _same_run(a: Path, b: Path) -> None:
    scores_a = json.loads((a / "scores.json").read_text())["scores"]
    scores_b = json.loads((b / "scores.json").read_text())["scores"]
    assert scores_a == scores_b  # scores and signatures
    for name in ("hyp.es.txt", "rt.en.txt"):
        assert (a / name).read_text(encoding="utf-8") == (b / name).read_text(encoding="utf-8"), name


@pytest.mark.slow
def test_runs_agree_whatever_the_chunks_shards_and_cache(sentences: list[str], tmp_path: Path) -> None:
    """`mtharness run` end to end (forward and round trip, 320 segments): about 2 minutes on 2 cores."""
    shards, filled = tmp_path / "shard_cache", tmp_path / "filled_cache"
    plain, chunk7, *_ = _run(
        tmp_path,
        ("empty_cache", tmp_path / "empty_cache", ("chunk_size=256",)),
        ("chunk7", None, ("chunk_size=7",)),
        ("limit100", filled, ("limit=100", "chunk_size=9")),
    )
    _same_run(plain, chunk7)
    _run(tmp_path, *((f"shard{i}", shards, (f"shard.index={i}", "shard.count=2")) for i in (0, 1)))
    merged, on_filled = _run(tmp_path, ("merged", shards, ()), ("on_filled", filled, ()))
    doc = json.loads((merged / "scores.json").read_text())
    assert doc["directions"]["forward"]["cache"] == {"hits": N, "misses": 0}
    _same_run(plain, merged)
    assert (
        json.loads((on_filled / "scores.json").read_text())["directions"]["forward"]["cache"]["hits"] == 100
    )
    _same_run(plain, on_filled)


def test_tagger_reuse_rules() -> None:
    """When a used tagger's output is kept: the rules IsolatedTagger applies, on hand-made analyses."""
    from mtharness.translators.apertium_tagger import MIXED, PRISTINE, state_after, unchanged

    report = (  # what apertium-tagger -d writes (Debian 3.8)
        b"Error: A new ambiguity class was found. \n"
        b"Retraining the tagger is necessary so as to take it into account.\n"
        b"Word 'I'.\nNew ambiguity class: {NUM,PRNSUBJ}\n"
    )
    other = report.replace(b"{NUM,PRNSUBJ}", b"{ADJ,DETQNT_ORD}").replace(b"'I'", b"'a lot of'")
    i_class = state_after(report)
    assert i_class == ("class", b"{NUM,PRNSUBJ}") and state_after(b"") == PRISTINE
    assert state_after(report + other) == MIXED and state_after(b"Segmentation fault") == MIXED
    known = b"^the/the<det>$ ^dog/dog<n><sg>$\n"
    unknown_first = b"^zorblax/*zorblax$ ^I/I<num>/prpers<prn>$\n"
    unknown_after = b"^I/I<num>/prpers<prn>$ ^zorblax/*zorblax$\n"
    assert unchanged(i_class, known, b"") and unchanged(MIXED, known, b"")
    assert not unchanged(i_class, unknown_first, b"") and not unchanged(MIXED, unknown_after, report)
    assert unchanged(i_class, unknown_after, report)  # alone it would see S_c at the unknown word too
    assert not unchanged(i_class, unknown_first, report)  # alone, the unknown word saw the full class
    assert not unchanged(i_class, known, other) and not unchanged(i_class, known, b"Segmentation fault")


def test_a_trailing_caret_never_shifts_later_segments(apertium) -> None:  # type: ignore[no-untyped-def]
    """Found by test_reliability's random texts: a segment ending in "^" lost its boundary in Apertium's
    transfer stages, so every later output moved up by one line."""
    from mtharness.translators.apertium import ApertiumTranslator

    texts = ["Start.", "^", "$ @ ^", "The dog ^", "a ^ b", "", "End."]
    batch = ApertiumTranslator().translate(texts, "en", "es")
    assert batch[0] == "Inicio." and batch[-1] == "Fin."
    assert batch[1] == "^" and batch[2] == "$ @ ^" and batch[3].endswith(" ^") and batch[5] == ""
    assert batch == [ApertiumTranslator().translate([t], "en", "es")[0] for t in texts]


def test_a_caret_before_symbols_at_the_end_never_stalls(apertium) -> None:  # type: ignore[no-untyped-def]
    """Found by test_reliability's random texts on a busy CI run: a "^" followed at a segment's end by
    symbols lt-proc has no entry for ("%", "_", "¬", emoji, unassigned code points) lost the segment's
    boundary in transfer too, and the chain waited for it until translator.timeout_s (600 s)."""
    from mtharness.translators.apertium import ApertiumTranslator

    stalled = ["^\U00098d56", "^%", "^_", "a ^ %", "house ^😀", "a^😀", "%^%", "^%$", "x\\^%"]
    texts = ["Start.", *stalled, "The dog ^¬.", "dog ^\x00%\r_", "End."]
    translator = ApertiumTranslator(timeout_s=60)  # a stall fails in one line instead of hanging
    batch = translator.translate(texts, "en", "es")
    assert batch[0] == "Inicio." and batch[-1] == "Fin." and len(batch) == len(texts)
    assert batch[1:4] == ["^\U00098d56", "^%", "^_"]  # all symbols: kept as they were
    assert batch[5] == "Casa ^😀" and batch[8] == "^%$"
    assert batch[-2].endswith(" ^ % _")  # NUL and CR in a kept-aside tail become spaces, as elsewhere
    assert batch == [translator.translate([t], "en", "es")[0] for t in texts]
