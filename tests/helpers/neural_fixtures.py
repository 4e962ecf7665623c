"""Tiny translation checkpoints for the hf/ct2/cache tests (import the fixtures you use).

The trained copy model is committed (tests/fixtures/tiny_marian_copy, rebuilt by
scripts/make_tiny_models.py); the random-weight multilingual ones are built here in seconds.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.built_once import built_once

REPO = Path(__file__).resolve().parents[2]
TINY_MARIAN = REPO / "tests" / "fixtures" / "tiny_marian_copy"
SAMPLE_EN = REPO / "src" / "mtharness" / "data" / "sample" / "sample.en"


def _builder():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(
        "make_tiny_models", REPO / "scripts" / "make_tiny_models.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("make_tiny_models", module)
    spec.loader.exec_module(module)
    return module


def our_sentences() -> list[str]:
    """Our own text (article + sample): enough for a tokenizer of random-weight models."""
    sample = REPO / "src" / "mtharness" / "data" / "sample"
    lines = (sample / "article.en").read_text().splitlines() + SAMPLE_EN.read_text().splitlines()
    return [line for line in lines if line]


def needs(*modules: str) -> None:
    for name in modules:
        pytest.importorskip(name)


@pytest.fixture(autouse=True)
def _own_translation_cache(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Each test gets its own cache.dir: runs never write into the checkout's results/ nor share hits."""
    monkeypatch.setenv("MTHARNESS_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture(scope="session")
def tiny_marian() -> Path:
    needs("torch", "transformers", "sentencepiece")
    if not (TINY_MARIAN / "model.safetensors").exists():
        pytest.skip(f"{TINY_MARIAN} missing: python scripts/make_tiny_models.py marian-copy {TINY_MARIAN}")
    return TINY_MARIAN


@pytest.fixture(scope="session")
def ct2_convert_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One CTranslate2 conversion folder for the session. Conversions are keyed by checkpoint,
    revision, quantization and ctranslate2 version, so tests share them instead of converting the
    same tiny checkpoint again (several seconds each)."""
    return tmp_path_factory.mktemp("ct2")


@pytest.fixture(scope="session")
def tiny_nllb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    needs("torch", "transformers", "tokenizers")
    return built_once(
        tmp_path_factory,
        "tiny_nllb",
        lambda out: _builder().build_nllb(out, our_sentences(), seed=1, vocab_size=600),
    )


@pytest.fixture(scope="session")
def tiny_m2m100(tmp_path_factory: pytest.TempPathFactory) -> Path:
    needs("torch", "transformers", "sentencepiece")
    return built_once(
        tmp_path_factory,
        "tiny_m2m100",
        lambda out: _builder().build_m2m100(out, our_sentences(), seed=1, vocab_size=600),
    )


@pytest.fixture(scope="session")
def tiny_metricx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny MetricX-24 checkpoint (scripts/make_tiny_metricx.py: model/ and tokenizer/), built once
    per session and shared by the metric's own tests and the compare/gate/leaderboard views."""
    needs("torch", "transformers")

    def build(out: Path) -> None:
        subprocess.run(
            [sys.executable, str(REPO / "scripts" / "make_tiny_metricx.py"), str(out)],
            check=True,
            capture_output=True,
            text=True,
        )

    return built_once(tmp_path_factory, "tiny_metricx", build)
