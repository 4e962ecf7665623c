"""translator=llm through the real model path: the tiny Llama-style fixture (tests/fixtures/tiny_llm),
plus the well-known LLM configs composed and instantiated offline (no weights loaded)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sacrebleu

from mtharness.core import MtharnessError
from mtharness.translators.llm import LLMTranslator
from mtharness.translators.prompts import DEFAULT_ZERO_SHOT
from tests.conftest import REPO, compose, run_cli
from tests.helpers.neural_fixtures import needs

TINY_LLM = REPO / "tests" / "fixtures" / "tiny_llm"
COPY_CHRF_MIN = 15  # the committed tiny model's copies of sample.en score chrF ~22
SAMPLE_EN = REPO / "src" / "mtharness" / "data" / "sample" / "sample.en"


@pytest.fixture(scope="module")
def tiny_llm() -> Path:
    needs("torch", "transformers", "tokenizers")
    if not (TINY_LLM / "model.safetensors").exists():
        pytest.skip(f"{TINY_LLM} missing: python scripts/make_tiny_models.py llm-copy {TINY_LLM}")
    return TINY_LLM


@pytest.mark.parametrize("name", ["llm", "tiny_llm", "tower_instruct_7b", "qwen2_5_7b_instruct"])
def test_llm_configs_compose_and_instantiate_offline(name: str) -> None:
    from mtharness.cli.run import build_translator

    cfg = compose([f"translator={name}"])
    translator = build_translator(cfg)
    assert isinstance(translator, LLMTranslator)
    assert translator.prompt.name == cfg.prompt.name
    assert translator.direction_identity("en", "de")["prompt"]["hash"].startswith("sha256:")
    if name != "llm":
        assert translator.model
    if name == "tiny_llm":  # resolved in the checkout, whatever the working directory
        assert Path(str(translator.model)) == TINY_LLM
    few = build_translator(compose([f"translator={name}", "prompt=few_shot"]))
    assert few.prompt.k == 3
    assert few.direction_identity("en", "de") != translator.direction_identity("en", "de")


def test_tower_uses_its_own_prompt_style() -> None:
    cfg = compose(["translator=tower_instruct_7b"])
    assert cfg.prompt.name == "tower" and cfg.prompt.system is None
    assert cfg.translator.dtype == "bfloat16"


def test_bad_llm_settings_fail_with_one_line() -> None:
    with pytest.raises(MtharnessError, match="chat_template"):
        LLMTranslator(model="x", chat_template="maybe")
    with pytest.raises(MtharnessError, match="sentence_level"):
        LLMTranslator(model="x", sentence_level="sometimes")


@pytest.mark.llm
@pytest.mark.hf
def test_tiny_llm_copies_through_chat_template_and_plain_prompt(tiny_llm: Path) -> None:
    texts = SAMPLE_EN.read_text().splitlines()[:6]
    chat = LLMTranslator(model=str(tiny_llm), prompt=DEFAULT_ZERO_SHOT, max_new_tokens=48, threads=1)
    out = chat.translate(texts, "en", "es")
    tok = chat._load(str(tiny_llm))[0]
    assert chat.uses_chat_template(tok)
    # trained to copy: the answers resemble the sources (random weights give chrF ~0-5)
    assert sacrebleu.corpus_chrf(out, [texts]).score > COPY_CHRF_MIN, out
    ids = chat.prompt_ids(tok, ["Hello."], "en", "es")[0]
    assert tok.decode(ids).endswith("<|assistant|>\n")  # the answer cue ends every prompt
    plain = LLMTranslator(
        model=str(tiny_llm), prompt=DEFAULT_ZERO_SHOT, max_new_tokens=48, threads=1, chat_template="plain"
    )
    assert not plain.uses_chat_template(tok)
    assert tok.decode(plain.prompt_ids(tok, ["Hello."], "en", "es")[0]).endswith("Spanish:")
    assert plain.identity() != chat.identity()
    assert all(isinstance(o, str) and "\n" not in o for o in plain.translate(texts[:3], "en", "es"))


@pytest.mark.llm
@pytest.mark.hf
def test_batched_equals_one_by_one(tiny_llm: Path) -> None:
    texts = SAMPLE_EN.read_text().splitlines()[:24]
    batched = LLMTranslator(
        model=str(tiny_llm), prompt=DEFAULT_ZERO_SHOT, max_new_tokens=48, threads=1, batch_size=16
    )
    alone = LLMTranslator(
        model=str(tiny_llm), prompt=DEFAULT_ZERO_SHOT, max_new_tokens=48, threads=1, batch_size=1
    )
    assert batched.translate_raw(texts, "en", "es") == alone.translate_raw(texts, "en", "es")
    # the batching is still part of the identity: a big model in bf16 may round differently
    assert batched.identity()["batching"] != alone.identity()["batching"]


@pytest.mark.llm
@pytest.mark.hf
def test_long_source_is_cut_not_the_prompt(tiny_llm: Path) -> None:
    translator = LLMTranslator(
        model=str(tiny_llm), prompt=DEFAULT_ZERO_SHOT, max_new_tokens=8, max_input_tokens=6, threads=1
    )
    long = "This sentence is certainly longer than six tokens of the tiny tokenizer."
    out = translator.translate([long, "Short."], "en", "es")
    assert len(out) == 2
    assert translator.run_info()["truncation"]["truncated_segments"] == {"en-es": 1}
    tok = translator._load(str(tiny_llm))[0]
    assert tok.decode(translator.prompt_ids(tok, [long], "en", "es")[0]).endswith("<|assistant|>\n")


@pytest.mark.llm
@pytest.mark.hf
@pytest.mark.slow
def test_mtharness_run_tiny_llm_end_to_end(tiny_llm: Path, tmp_path: Path) -> None:
    """`mtharness run translator=tiny_llm`: forward + round trip, raw outputs, cleanup counts, prompt
    hash; the rerun is all cache hits with the same outputs; prompt=few_shot is a new cache key."""
    args = [
        "run", "translator=tiny_llm", "dataset=sample", "dataset.tgt_lang=es", "limit=6",
        "progress=false", "validity.langid.enabled=false", f"results_dir={tmp_path / 'results'}",
    ]  # fmt: skip
    env = {"MTHARNESS_CACHE_DIR": str(tmp_path / "cache")}
    runs = []
    for extra in ([], [], ["prompt=few_shot"]):
        proc = run_cli([*args, *extra], cwd=tmp_path, env=env)  # not the checkout: repo: paths resolve
        assert proc.returncode == 0, proc.stderr[-2000:]
        runs.append(sorted((tmp_path / "results" / "runs").glob("*/*"))[-1])
    scores = [json.loads((r / "scores.json").read_text()) for r in runs]
    first, again, few = scores
    assert first["translator"]["backend"] == "transformers-causal-lm"
    assert first["llm_cleanup"]["forward"]["segments"] == 6
    assert first["llm_cleanup"]["round_trip"]["segments"] == 6
    assert set(first["prompt"]["hash"]) == {"en-es", "es-en"} and first["prompt"]["name"] == "zero_shot"
    assert first["scores"]["round_trip"]["chrF2"]["score"] > COPY_CHRF_MIN / 2  # a real, checkable round trip
    assert again["directions"]["forward"]["cache"] == {"hits": 6, "misses": 0}
    assert again["scores"] == first["scores"]
    assert few["prompt"]["name"] == "few_shot" and few["prompt"]["hash"] != first["prompt"]["hash"]
    assert few["directions"]["forward"]["cache"]["misses"] == 6
    rows = [json.loads(line) for line in (runs[1] / "segments.jsonl").read_text().splitlines()]
    assert all(isinstance(r["forward_raw"], str) and isinstance(r["round_trip_raw"], str) for r in rows)
    assert "LLM output cleanup" in (runs[0] / "summary.md").read_text()


def test_run_refuses_a_few_shot_dev_set_that_is_the_test_set(tmp_path: Path) -> None:
    """One line, exit 2, before any model loads: the dev files are the sample test set itself."""
    sample = REPO / "src" / "mtharness" / "data" / "sample"
    args = [
        "run",
        "translator=tiny_llm",
        "dataset=sample",
        "dataset.tgt_lang=es",
        "limit=3",
        "progress=false",
        "validity.langid.enabled=false",
        "prompt=few_shot",
        # braces in a command-line value need Hydra's quotes
        f"prompt.dev_src='{sample}/sample.{{src}}'",
        f"prompt.dev_tgt='{sample}/sample.{{tgt}}'",
        f"results_dir={tmp_path / 'results'}",
    ]
    proc = run_cli(args, cwd=tmp_path, env={"MTHARNESS_CACHE_DIR": str(tmp_path / "cache")})
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "never come from the test set" in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert not list((tmp_path / "results").rglob("scores.json"))
