"""hf and ct2 translators on tiny real checkpoints: batching order, language codes, hf == ct2."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from sacrebleu.metrics import BLEU, CHRF

from mtharness.cli.run import run_from_config
from mtharness.core import MtharnessError
from mtharness.textio import read_lines
from tests.conftest import compose
from tests.helpers.neural_fixtures import SAMPLE_EN

pytestmark = pytest.mark.hf
GREEDY = {"num_beams": 1, "threads": 1, "batch_size": 8, "max_batch_tokens": 200}


def hf(model: Path, **kw):  # type: ignore[no-untyped-def]
    from mtharness.translators.hf import HFTranslator

    return HFTranslator(model=str(model), **{**GREEDY, "max_new_tokens": 48, **kw})


def ct2(model: Path, convert_dir: Path, **kw):  # type: ignore[no-untyped-def]
    pytest.importorskip("ctranslate2")
    from mtharness.translators.ct2 import CT2Translator

    settings = {**GREEDY, "max_new_tokens": 48, "compute_type": "float32", **kw}
    return CT2Translator(model=str(model), convert_dir=str(convert_dir), **settings)


@pytest.fixture(scope="module")
def sentences() -> list[str]:
    lines = read_lines(SAMPLE_EN)[:40]
    random.Random(7).shuffle(lines)  # lengths in no order: batching must sort and restore
    return lines


def test_order_and_length_restored_for_shuffled_lengths(tiny_marian: Path, sentences: list[str]) -> None:
    """Translating the whole list equals translating each sentence alone (batch-order independent)."""
    translator = hf(tiny_marian)
    together = translator.translate([*sentences[:8], ""], "en", "xx")
    assert len(together) == 9 and together[-1] == ""
    alone = [translator.translate([s], "en", "xx")[0] for s in sentences[:8]]
    assert together[:8] == alone
    # a copy model's output resembles its own input, not a neighbour's: order really was restored
    chrf = CHRF()
    for i, (src, out) in enumerate(zip(sentences[:8], together[:8], strict=True)):
        other = sentences[(i + 1) % 8]
        assert chrf.sentence_score(out, [src]).score > chrf.sentence_score(out, [other]).score


@pytest.mark.ct2
def test_hf_and_ct2_float32_greedy_identical(tiny_marian: Path, sentences: list[str], tmp_path: Path) -> None:
    ours = hf(tiny_marian).translate(sentences, "en", "xx")
    theirs = ct2(tiny_marian, tmp_path / "ct2").translate(sentences, "en", "xx")
    assert ours == theirs
    # conversion happened once, into a folder keyed by model and quantization
    converted = [p for p in (tmp_path / "ct2").iterdir() if not p.name.startswith(".")]
    assert len(converted) == 1 and (converted[0] / "model.bin").exists()


@pytest.mark.ct2
def test_ct2_parallel_batches_same_outputs_as_serial(
    tiny_marian: Path, sentences: list[str], ct2_convert_dir: Path
) -> None:
    """inter_threads=2 decodes the queued batches two at a time; each output stays in its place."""
    texts = [*sentences, "", sentences[0]]  # 42 texts in 6 batches of <= 8, plus an empty source
    serial = ct2(tiny_marian, ct2_convert_dir, compute_type="int8").translate(texts, "en", "xx")
    parallel = ct2(tiny_marian, ct2_convert_dir, compute_type="int8", inter_threads=2)
    assert parallel.translate(texts, "en", "xx") == serial
    assert serial[-2] == "" and serial[-1] == serial[0]
    assert parallel.run_info()["ct2_threads"] == {"inter_threads": 2, "intra_threads": 1}


@pytest.mark.ct2
def test_ct2_thread_split(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unset: one single-threaded batch per core on CPU; explicit settings are kept as given."""
    import os

    from mtharness.translators.ct2 import CT2Translator

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    cores = len(os.sched_getaffinity(0))
    assert CT2Translator(device="cpu").thread_split() == (cores, 1)
    assert CT2Translator(device="cpu", threads=2).thread_split() == (1, 2)
    assert CT2Translator(device="cpu", threads=1, inter_threads=3).thread_split() == (3, 1)
    assert CT2Translator(device="cuda").thread_split() == (1, cores)  # one batch at a time on a GPU
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # a job's share in a parallel sweep
    assert CT2Translator(device="cpu").thread_split() == (1, 1)
    assert "ct2_threads" not in CT2Translator(device="cpu").run_info()  # nothing loaded yet


@pytest.mark.ct2
def test_multilingual_language_codes_nllb(tiny_nllb: Path, tmp_path: Path) -> None:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_nllb)
    translator = hf(tiny_nllb, max_new_tokens=6)
    texts = ["The library opened on Saturday.", "Hundreds of residents came."]
    ids = translator.generate_ids(texts, "en", "es")
    spa, deu = tok.convert_tokens_to_ids("spa_Latn"), tok.convert_tokens_to_ids("deu_Latn")
    # decoder start, then the forced target language code
    assert all(seq[1] == spa for seq in ids)
    assert all(seq[1] == deu for seq in translator.generate_ids(texts, "en", "de"))
    # the tokenizer was pointed at the source language: NLLB puts its code first
    assert (
        tok.convert_ids_to_tokens(translator._loaded[str(tiny_nllb)][0](texts)["input_ids"][0])[0]
        == "eng_Latn"
    )
    outputs = translator.translate(texts, "en", "es")
    assert len(outputs) == 2 and not any("spa_Latn" in o for o in outputs)
    assert outputs == ct2(tiny_nllb, tmp_path / "ct2", max_new_tokens=6).translate(texts, "en", "es")
    with pytest.raises(MtharnessError, match="lang_codes"):
        translator.translate(texts, "en", "xx")
    overridden = hf(tiny_nllb, max_new_tokens=6, lang_codes={"xx": "arb_Arab"})
    arb = tok.convert_tokens_to_ids("arb_Arab")
    assert all(seq[1] == arb for seq in overridden.generate_ids(texts, "en", "xx"))


def test_multilingual_language_codes_m2m100(tiny_m2m100: Path) -> None:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_m2m100)
    translator = hf(tiny_m2m100, max_new_tokens=6)
    ids = translator.generate_ids(["A short test."], "de", "fr")
    assert ids[0][1] == tok.get_lang_id("fr")
    out = translator.translate(["A short test.", ""], "de", "fr")
    assert len(out) == 2 and "__fr__" not in out[0] and out[1] == ""


@pytest.mark.ct2
def test_ct2_m2m100_conversion_fails_with_one_line(tiny_m2m100: Path, tmp_path: Path) -> None:
    """Known CTranslate2 4.8 + transformers 5 limitation (ENVIRONMENT.md): a clear error, not a trace."""
    translator = ct2(tiny_m2m100, tmp_path / "ct2")
    try:
        translator.translate(["A test."], "en", "de")
    except MtharnessError as exc:
        assert "translator=hf" in str(exc) and "\n" not in str(exc)
    # (if a future CTranslate2 converts it, translating is the right outcome)


def test_token_budget_batches_and_identity(tiny_marian: Path) -> None:
    from mtharness.translators.seq2seq import length_batches

    translator = hf(tiny_marian)
    ident = translator.identity()
    assert ident["checkpoints"]["*"]["revision"].startswith("sha256:")
    assert ident["decoding"]["num_beams"] == 1 and ident["versions"]["torch"]
    assert hf(tiny_marian, num_beams=2).identity() != ident  # decoding settings decide outputs
    # padded batches are not promised to decode like one segment: batching keys the cache
    assert ident["batch_independent"] is False and ident["batch_size"] == 8
    assert hf(tiny_marian, batch_size=3).identity() != ident
    alone = hf(tiny_marian, batch_size=1)
    assert alone.context_free and not translator.context_free
    assert alone.identity()["batch_independent"] is True and "batch_size" not in alone.identity()
    batches = length_batches([5, 50, 7, 49, 6], batch_size=8, max_tokens=100)
    assert batches == [[1, 3], [2, 4, 0]]


def test_round_trip_through_trained_tiny_model(tiny_marian: Path, tmp_path: Path) -> None:
    """A real round trip en -> es -> en through the briefly trained copy model: checkable scores."""
    cfg = compose(
        [
            "translator=tiny_marian_copy",
            f"translator.model={tiny_marian}",
            "limit=60",
            "metrics=[bleu,chrf]",
            "progress=false",
            "cache.enabled=false",
        ]
    )
    payload = run_from_config(cfg, tmp_path / "run").to_json()  # scores.json
    rt = read_lines(tmp_path / "run" / "rt.en.txt")
    src = read_lines(SAMPLE_EN)[:60]
    metric = BLEU()
    bleu = metric.corpus_score(rt, [src])
    assert payload["scores"]["round_trip"]["BLEU"]["score"] == pytest.approx(bleu.score, abs=1e-4)
    assert payload["scores"]["round_trip"]["BLEU"]["signature"] == metric.get_signature().format()
    # trained: far from random-weight noise (BLEU ~0), and imperfect (not an identity function)
    assert 30 < bleu.score < 100
    assert payload["scores"]["round_trip"]["chrF2"]["score"] > 60
    assert payload["translator"]["name"] == "tiny_marian_copy"
    assert payload["translator"]["trust_remote_code"] is False  # recorded, off unless set


def test_offline_hub_id_is_one_clear_line(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("transformers")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    from mtharness.translators.hf import HFTranslator

    translator = HFTranslator(name="x", model="mtharness-test/no-such-model-anywhere", threads=1)
    with pytest.raises(MtharnessError) as err:
        translator.translate(["hello"], "en", "de")
    message = str(err.value)
    assert "no-such-model-anywhere" in message and "translator.model=/path/to/folder" in message
    assert "\n" not in message


@pytest.mark.ct2
def test_too_long_inputs_are_truncated_counted_and_recorded(
    tiny_marian: Path, tmp_path: Path, ct2_convert_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from mtharness.data.loaders import load_files
    from mtharness.run.evaluate import evaluate
    from mtharness.run.writer import write_run

    long_text = " ".join(read_lines(SAMPLE_EN)[:6])  # far more than 12 tokens
    (tmp_path / "src.en").write_text(f"A short line.\n{long_text}\nThe end.\n")
    ds = load_files(str(tmp_path / "src.en"), "en", "es")
    for translator in (
        hf(tiny_marian, max_input_tokens=12),
        ct2(tiny_marian, ct2_convert_dir, max_input_tokens=12),
    ):
        with caplog.at_level("WARNING", logger="mtharness"):
            result = evaluate(ds, translator, progress=False)
        assert len(result.forward.outputs) == 3  # cut, never dropped
        record = write_run(result, tmp_path / translator.identity()["backend"])
        assert record.translator_notes["truncation"] == {
            "policy": "truncate",
            "max_input_tokens": 12,
            "truncated_segments": {"en-es": 1},  # the cut output is short: nothing to cut on the way back
        }
        assert "1 segment(s) longer than max_input_tokens=12 were truncated" in caplog.text
