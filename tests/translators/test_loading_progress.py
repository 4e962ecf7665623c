"""prepare() loads a model up front with a "loading model" line; hf, ct2 and llm report progress per
batch without changing which segments share a batch (outputs equal those of a run without reports),
openai per answer. Tests taking the tiny_marian fixture are marked hf by tests/conftest.py."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from mtharness.translators import base
from mtharness.translators.ct2 import CT2Translator
from mtharness.translators.echo import EchoTranslator
from mtharness.translators.hf import HFTranslator
from tests.conftest import REPO
from tests.helpers.neural_fixtures import SAMPLE_EN, needs

TEXTS = [line for line in SAMPLE_EN.read_text(encoding="utf-8").splitlines() if line][:9]


def loading_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "mtharness" and "model" in r.getMessage()]


def test_prepare_loads_once_and_says_so(tiny_marian: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="mtharness")
    hf = HFTranslator(model=str(tiny_marian), num_beams=1, max_new_tokens=32)
    assert hf._loaded == {}
    base.prepare(hf, TEXTS, "en", "es")
    assert list(hf._loaded) == [str(tiny_marian)]  # loaded before any translate()
    lines = loading_lines(caplog)
    assert len(lines) == 2, lines
    assert lines[0].startswith(f"loading model {tiny_marian} (transformers AutoModelForSeq2SeqLM")
    assert lines[1].startswith(f"loaded model {tiny_marian} in ") and lines[1].endswith(" s")
    caplog.clear()
    base.prepare(hf, TEXTS, "es", "en")  # same checkpoint: nothing to load again
    hf.translate(TEXTS[:2], "en", "es")
    assert loading_lines(caplog) == []


def test_prepare_on_a_plain_backend_is_a_no_op() -> None:
    echo = EchoTranslator()
    base.prepare(echo, TEXTS, "en", "es")  # TranslatorBase default
    assert echo.translate(TEXTS[:1], "en", "es") == TEXTS[:1]


def _with_reports(translator: base.TranslatorBase, texts: list[str]) -> tuple[list[str], list[int]]:
    reports: list[int] = []
    base.set_progress(translator, reports.append)
    try:
        return translator.translate(texts, "en", "es"), reports
    finally:
        base.set_progress(translator, None)


def test_hf_reports_each_batch_and_outputs_do_not_change(tiny_marian: Path) -> None:
    texts = [*TEXTS[:4], "", *TEXTS[4:]]  # an empty source is not the model's: never reported
    quiet = HFTranslator(model=str(tiny_marian), num_beams=1, max_new_tokens=32, batch_size=4)
    loud = HFTranslator(model=str(tiny_marian), num_beams=1, max_new_tokens=32, batch_size=4)
    outputs, reports = _with_reports(loud, texts)
    assert reports == [4, 4, 1]  # 9 non-empty segments in batches of at most 4, one report each
    assert outputs == quiet.translate(texts, "en", "es")
    assert loud._on_progress is None  # reports stop with set_progress(None)


@pytest.mark.ct2
def test_ct2_reports_each_batch_and_outputs_do_not_change(tiny_marian: Path, ct2_convert_dir: Path) -> None:
    pytest.importorskip("ctranslate2")

    def make() -> CT2Translator:
        return CT2Translator(
            model=str(tiny_marian), num_beams=1, max_new_tokens=32, batch_size=2,
            compute_type="float32", convert_dir=str(ct2_convert_dir), threads=1,
        )  # fmt: skip

    quiet, loud = make(), make()
    outputs, reports = _with_reports(loud, TEXTS)
    assert reports == [2, 2, 2, 2, 1]
    assert outputs == quiet.translate(TEXTS, "en", "es")


@pytest.mark.llm
@pytest.mark.hf
def test_llm_reports_each_batch_and_outputs_do_not_change(caplog: pytest.LogCaptureFixture) -> None:
    from mtharness.translators.llm import LLMTranslator
    from mtharness.translators.prompts import DEFAULT_ZERO_SHOT

    tiny_llm = REPO / "tests" / "fixtures" / "tiny_llm"
    needs("torch", "transformers", "tokenizers")
    if not (tiny_llm / "model.safetensors").exists():
        pytest.skip(f"{tiny_llm} missing: python scripts/make_tiny_models.py llm-copy {tiny_llm}")

    def make() -> LLMTranslator:
        return LLMTranslator(
            model=str(tiny_llm), prompt=DEFAULT_ZERO_SHOT, max_new_tokens=8, threads=1, batch_size=4
        )

    caplog.set_level(logging.INFO, logger="mtharness")
    quiet, loud = make(), make()
    base.prepare(loud, TEXTS[:6], "en", "es")
    assert any("(transformers AutoModelForCausalLM" in line for line in loading_lines(caplog))
    reports: list[int] = []
    base.set_progress(loud, reports.append)
    raw = loud.translate_raw(TEXTS[:6], "en", "es")
    base.set_progress(loud, None)
    assert reports == [4, 2]
    assert raw == quiet.translate_raw(TEXTS[:6], "en", "es")


def test_openai_reports_every_answer() -> None:
    pytest.importorskip("httpx")
    from mtharness.translators.openai import OpenAITranslator
    from tests.helpers.openai_fault_server import FaultServer

    with FaultServer() as server:
        server.delay_s = 0.01
        t = OpenAITranslator(model="tiny", base_url=server.base_url, max_concurrency=2)
        reports: list[int] = []
        base.set_progress(t, reports.append)
        texts = [f"segment {i}" for i in range(5)]
        assert t.translate([*texts, ""], "en", "es") == [*(s.upper() for s in texts), ""]
    assert reports == [1] * 5
