"""Apertium gives every segment the output it gives that segment alone (issue 14).

Real WMT23 English news sentences (en-zh/src.en is sentence-level) through the real Apertium:
in one batch, reversed, one at a time, in chunks of 7 or 256, sharded and merged, and from a
cache another run filled. Before the fix, 22 of 300 such sentences translated differently alone.
"""

from __future__ import annotations

import json
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
ENV = {"PYTHONPATH": str(REPO / "src") + ":" + str(REPO)}


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
    sample = sorted(random.Random(14).sample(range(N), 30))
    # the sentences that leaked before the fix (found with plain `apertium`) are in the check too
    sample = sorted({*sample, 82, 107, 111, 115, 118, 155})
    alone = {i: translator.translate([sentences[i]], "en", "es")[0] for i in sample}
    assert {i: batch[i] for i in sample} == alone
    assert translator.tagger_starts > 0


def test_every_installed_mode_is_isolated(sentences: list[str], batch: list[str]) -> None:
    """Each mode parses its own pipeline; Spanish input for spa-eng is Apertium's own output."""
    inputs = {"en": sentences[:60], "es": batch[:60]}
    checked = 0
    for mode, (src, tgt) in {"eng-spa": ("en", "es"), "spa-eng": ("es", "en"), "eng-cat": ("en", "ca")}.items():
        if not apertium_has(mode):
            continue
        translator = ApertiumTranslator()
        texts = inputs[src]
        out = translator.translate(texts, src, tgt)
        assert out == translator.translate(texts[::-1], src, tgt)[::-1], mode
        for i in (0, 7, 33, 59):
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


def _run(tmp: Path, name: str, cache: Path | None, *extra: str) -> Path:
    run_dir = tmp / name
    args = [sys.executable, "-m", "mtharness", "run", "translator=apertium", "dataset=files"]
    args += [f"dataset.src={SOURCE}", "dataset.src_lang=en", "dataset.tgt_lang=es", "progress=false"]
    args += [f"hydra.run.dir={run_dir}", *extra]
    args += [f"cache.dir={cache}"] if cache is not None else ["cache.enabled=false"]
    import os

    proc = subprocess.run(
        args, cwd=tmp, env={**os.environ, **ENV}, capture_output=True, text=True, timeout=300, check=False
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return run_dir


def _same_run(a: Path, b: Path) -> None:
    scores_a = json.loads((a / "scores.json").read_text())["scores"]
    scores_b = json.loads((b / "scores.json").read_text())["scores"]
    assert scores_a == scores_b  # scores and signatures
    for name in ("hyp.es.txt", "rt.en.txt"):
        assert (a / name).read_text(encoding="utf-8") == (b / name).read_text(encoding="utf-8"), name


def test_runs_agree_whatever_the_chunks_shards_and_cache(sentences: list[str], tmp_path: Path) -> None:
    limit = f"limit={N}"
    plain = _run(tmp_path, "chunk256", None, limit, "chunk_size=256")
    _same_run(plain, _run(tmp_path, "chunk7", None, limit, "chunk_size=7"))

    shards = tmp_path / "shard_cache"
    for i in (0, 1):
        _run(tmp_path, f"shard{i}", shards, limit, f"shard.index={i}", "shard.count=2")
    merged = _run(tmp_path, "merged", shards, limit)
    doc = json.loads((merged / "scores.json").read_text())
    assert doc["directions"]["forward"]["cache"] == {"hits": N, "misses": 0}
    _same_run(plain, merged)

    filled = tmp_path / "filled_cache"
    _run(tmp_path, "limit100", filled, "limit=100", "chunk_size=9")
    _same_run(plain, _run(tmp_path, "on_filled", filled, limit))
    _same_run(plain, _run(tmp_path, "on_empty", tmp_path / "empty_cache", limit))
