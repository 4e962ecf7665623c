"""Prompts: rendering, deterministic few-shot examples, the template hash, and leak refusal."""

from __future__ import annotations

from pathlib import Path

import pytest

from mtharness.core import MtharnessError
from mtharness.translators.prompts import (
    DEFAULT_ZERO_SHOT,
    Prompt,
    language_name,
    prompt_from_config,
    resolve_dev_path,
)
from tests.conftest import REPO, compose

SAMPLE = REPO / "src" / "mtharness" / "data" / "sample"
BUNDLED = {"dev_src": "mtharness:data/sample/dev.{src}", "dev_tgt": "mtharness:data/sample/dev.{tgt}"}


def few_shot(k: int = 3, seed: int = 1234, **extra: object) -> Prompt:
    return prompt_from_config({**DEFAULT_ZERO_SHOT, "name": "few_shot", "k": k, **BUNDLED, **extra}, seed)


def test_language_names_from_iso_codes() -> None:
    assert language_name("de") == "German"
    assert language_name("zh_Hant") == "Traditional Chinese"
    assert language_name("pt_BR") == "Brazilian Portuguese"
    assert language_name("es_MX") == "Spanish"  # region falls back to the language
    assert language_name("xx") == "xx"  # unknown: the code itself


def test_zero_shot_messages_and_plain() -> None:
    prompt = prompt_from_config(DEFAULT_ZERO_SHOT, seed=1)
    msgs = prompt.messages("The cat sleeps.", "en", "de")
    assert [m["role"] for m in msgs] == ["system", "user"]
    assert "English text into German" in msgs[0]["content"]
    assert msgs[1]["content"] == "Translate this English text into German.\nEnglish: The cat sleeps.\nGerman:"
    plain = prompt.plain("The cat sleeps.", "en", "de")
    assert plain.startswith(msgs[0]["content"] + "\n\n")
    assert plain.endswith(msgs[1]["content"])


def test_braces_in_the_source_are_kept_verbatim() -> None:
    prompt = prompt_from_config(DEFAULT_ZERO_SHOT)
    assert "{tgt_lang} {0} {{x}}" in prompt.messages("{tgt_lang} {0} {{x}}", "en", "es")[-1]["content"]


def test_few_shot_examples_are_prior_turns_drawn_with_the_seed() -> None:
    msgs = few_shot().messages("Where is the station?", "en", "es")
    assert [m["role"] for m in msgs] == ["system", "user", "assistant"] * 1 + ["user", "assistant"] * 2 + [
        "user"
    ]
    dev_en = (SAMPLE / "dev.en").read_text().splitlines()
    dev_es = (SAMPLE / "dev.es").read_text().splitlines()
    for user, answer in zip(msgs[1:-1:2], msgs[2:-1:2], strict=True):
        source = user["content"].split("English: ")[1].split("\n")[0]
        assert answer["content"] == dev_es[dev_en.index(source)]  # aligned pairs, right direction
    # same seed -> same examples; another seed or another direction -> (here) different ones
    assert few_shot().examples("en", "es") == few_shot().examples("en", "es")
    assert few_shot(seed=7).examples("en", "es") != few_shot().examples("en", "es")
    back = few_shot().examples("es", "en")
    assert all(s in (SAMPLE / "dev.es").read_text() for s, _ in back)


def test_inline_examples_placeholder() -> None:
    prompt = few_shot(k=2, template="Examples:\n{examples}\n\nNow: {source}")
    msgs = prompt.messages("Hi.", "en", "fr")
    assert [m["role"] for m in msgs] == ["system", "user"]
    assert msgs[1]["content"].count("English: ") == 2 and msgs[1]["content"].endswith("Now: Hi.")
    assert prompt.plain("Hi.", "en", "fr").count("French: ") == 2


def test_template_hash_names_the_rendered_prompt() -> None:
    zero = prompt_from_config(DEFAULT_ZERO_SHOT, seed=1)
    assert zero.template_hash("en", "de").startswith("sha256:")
    assert zero.template_hash("en", "de") == prompt_from_config(DEFAULT_ZERO_SHOT, seed=99).template_hash(
        "en", "de"
    )
    assert zero.template_hash("en", "de") != zero.template_hash("de", "en")
    assert zero.template_hash("en", "de") != few_shot().template_hash("en", "de")
    # the seed only matters where it changes the examples
    assert few_shot(seed=1).template_hash("en", "es") != few_shot(seed=2).template_hash("en", "es")
    other_system = prompt_from_config({**DEFAULT_ZERO_SHOT, "system": "Translate."})
    assert other_system.template_hash("en", "de") != zero.template_hash("en", "de")
    ident = few_shot().identity([("en", "es"), ("es", "en")])
    assert ident["name"] == "few_shot" and set(ident["hash"]) == {"en-es", "es-en"}


def test_dev_file_that_is_the_test_set_is_refused() -> None:
    prompt = few_shot(dev_src=str(SAMPLE / "sample.{src}"), dev_tgt=str(SAMPLE / "sample.{tgt}"))
    test = (SAMPLE / "sample.en").read_text().splitlines()[:5]
    with pytest.raises(MtharnessError, match="never come from the test set"):
        prompt.check_not_test(test, "en", "es")
    few_shot().check_not_test(test, "en", "es")  # the bundled dev set shares nothing with the sample


def test_bundled_dev_set_shares_no_sentence_with_the_sample() -> None:
    for lang in ("en", "es"):
        dev = set((SAMPLE / f"dev.{lang}").read_text().splitlines())
        assert not dev & set((SAMPLE / f"sample.{lang}").read_text().splitlines())
    lengths = {len((SAMPLE / f"dev.{lang}").read_text().splitlines()) for lang in ("en", "es", "de", "fr")}
    assert lengths == {16}


def test_fixed_dev_paths_with_dev_pair(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("One.\nTwo.\n")
    (tmp_path / "b.txt").write_text("Eins.\nZwei.\n")
    prompt = few_shot(k=2, dev_src=str(tmp_path / "a.txt"), dev_tgt=str(tmp_path / "b.txt"), dev_pair="en-de")
    assert prompt.examples("en", "de") == [("One.", "Eins."), ("Two.", "Zwei.")]
    assert prompt.examples("de", "en") == [("Eins.", "One."), ("Zwei.", "Two.")]
    with pytest.raises(MtharnessError, match="cannot serve en-fr"):
        prompt.examples("en", "fr")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"template": "Translate {text}"}, "unknown placeholder {text}"),
        ({"template": "Translate this."}, "must contain {source}"),
        ({"template": "{source} {"}, "literal brace"),
        ({"k": 2, "dev_src": None}, "needs a dev set"),
        ({"k": 99, **BUNDLED}, "hold only 16"),
        ({"k": -1}, ">= 0"),
        ({"sytem": "x"}, "prompt.sytem: unknown key"),
        ({"system": "Be {polite}"}, "unknown placeholder {polite}"),
    ],
)
def test_bad_prompt_configs_fail_with_one_line(change: dict[str, object], message: str) -> None:
    with pytest.raises(MtharnessError, match=message.replace("{", r"\{").replace("}", r"\}")) as info:
        prompt_from_config({**DEFAULT_ZERO_SHOT, **change}).examples("en", "es")
    assert "\n" not in str(info.value)


def test_misaligned_dev_files_fail(tmp_path: Path) -> None:
    (tmp_path / "dev.en").write_text("One.\nTwo.\n")
    (tmp_path / "dev.es").write_text("Uno.\n")
    prompt = few_shot(k=1, dev_src=str(tmp_path / "dev.{src}"), dev_tgt=str(tmp_path / "dev.{tgt}"))
    with pytest.raises(MtharnessError, match="not aligned"):
        prompt.examples("en", "es")


def test_package_paths_resolve_inside_the_package() -> None:
    assert resolve_dev_path("mtharness:data/sample/dev.{src}", "en", "es") == SAMPLE / "dev.en"


def test_prompt_configs_compose_and_match_the_code_default() -> None:
    cfg = compose(["translator=llm"])
    assert cfg.prompt.name == "zero_shot"
    zero = {k: v for k, v in cfg.prompt.items() if v is not None and k != "k"}
    assert zero == DEFAULT_ZERO_SHOT
    few = compose(["translator=llm", "prompt=few_shot", "prompt.k=2"]).prompt
    prompt = prompt_from_config(dict(few), seed=1234)
    assert prompt.k == 2 and prompt.name == "few_shot" and len(prompt.examples("en", "de")) == 2
