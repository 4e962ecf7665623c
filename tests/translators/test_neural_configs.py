"""Every shipped model config composes and instantiates without loading weights or importing torch."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from mtharness.cli.run import build_translator
from tests.conftest import REPO, compose

HUB_MODELS = {
    "opus_mt_en_de": {"en-de": "Helsinki-NLP/opus-mt-en-de", "de-en": "Helsinki-NLP/opus-mt-de-en"},
    "opus_mt_en_de_ct2": {"en-de": "Helsinki-NLP/opus-mt-en-de", "de-en": "Helsinki-NLP/opus-mt-de-en"},
    "opus_mt_en_ar": {"en-ar": "Helsinki-NLP/opus-mt-en-ar", "ar-en": "Helsinki-NLP/opus-mt-ar-en"},
    "opus_mt_en_fr": {"en-fr": "Helsinki-NLP/opus-mt-en-fr", "fr-en": "Helsinki-NLP/opus-mt-fr-en"},
    "nllb_600m": {"*": "facebook/nllb-200-distilled-600M"},
    "m2m100_418m": {"*": "facebook/m2m100_418M"},
}
NEURAL = [*HUB_MODELS, "hf", "ct2", "files", "tiny_marian_copy", "tiny_marian_copy_ct2"]


@pytest.mark.parametrize("option", sorted(HUB_MODELS))
def test_hub_model_configs_name_the_checkpoints(option: str) -> None:
    from mtharness.translators.seq2seq import all_models

    cfg = compose([f"translator={option}"])
    translator = build_translator(cfg)
    assert all_models(translator.model, translator.models) == HUB_MODELS[option]  # type: ignore[attr-defined]
    assert translator.trust_remote_code is False  # type: ignore[attr-defined]
    assert translator._loaded == {}  # type: ignore[attr-defined]
    if option.endswith("_ct2"):
        assert translator.convert_dir == f"{cfg.cache.dir}/ct2"  # type: ignore[attr-defined]


def test_instantiating_every_neural_config_imports_no_torch() -> None:
    code = (
        "import sys\n"
        "from tests.conftest import compose\n"
        "from mtharness.cli.run import build_translator\n"
        f"for option in {NEURAL!r}:\n"
        "    build_translator(compose([f'translator={option}']))\n"
        "heavy = [m for m in ('torch', 'transformers', 'ctranslate2') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": f"{REPO / 'src'}{os.pathsep}{REPO}"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
