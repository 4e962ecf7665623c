"""LLM output cleanup on answers the way chat models write them."""

from __future__ import annotations

import pytest

from mtharness.translators.llm_cleanup import Cleaned, clean, counts, is_refusal

CASES = [
    # (raw, expected text, actions)
    ("Hola, ¿cómo estás?", "Hola, ¿cómo estás?", ()),
    ("  Hola mundo.  \n", "Hola mundo.", ()),
    ("Here is the translation:\n\nHola mundo.", "Hola mundo.", ("preamble",)),
    ("Here's the Spanish translation:\nHola mundo.", "Hola mundo.", ("preamble",)),
    ("Sure! Here is the translation into German:\n\nDas Haus ist rot.", "Das Haus ist rot.", ("preamble",)),
    ("Sure!\nHere is the translation:\nDas Haus ist rot.", "Das Haus ist rot.", ("preamble",)),
    ("Certainly! Here's the text translated into French: Le chat dort.", "Le chat dort.", ("preamble",)),
    ("Translation: Le chat dort.", "Le chat dort.", ("preamble",)),
    ("**Translation:** Le chat dort.", "Le chat dort.", ("preamble",)),
    ("Spanish translation: El gato duerme.", "El gato duerme.", ("preamble",)),
    ("The translation is: El gato duerme.", "El gato duerme.", ("preamble",)),
    ("German: Die Katze schläft.", "Die Katze schläft.", ("preamble",)),
    ("In Spanish: El gato duerme.", "El gato duerme.", ("preamble",)),
    ('"El gato duerme."', "El gato duerme.", ("quotes",)),
    ("“Le chat dort.”", "Le chat dort.", ("quotes",)),
    ("«Le chat dort.»", "Le chat dort.", ("quotes",)),
    ("„Die Katze schläft.“", "Die Katze schläft.", ("quotes",)),
    ('Here is the translation:\n"El gato duerme."', "El gato duerme.", ("preamble", "quotes")),
    ("```\nDie Katze schläft.\n```", "Die Katze schläft.", ("code_fence",)),
    ("```text\nDie Katze schläft.\n```", "Die Katze schläft.", ("code_fence",)),
    (
        "Sure:\n```\nDie Katze schläft.\n```\nLet me know if you need more.",
        "Die Katze schläft.",
        ("code_fence",),
    ),
    ("El gato duerme.\n\nNote: I used the informal register.", "El gato duerme.", ("explanation",)),
    ("El gato duerme.\n(This translation keeps the tense.)", "El gato duerme.", ("explanation",)),
    ("El gato duerme. (Note: 'gato' is masculine.)", "El gato duerme.", ("explanation",)),
    ("El gato duerme. Note: literal rendering.", "El gato duerme.", ("explanation",)),
    ("El gato duerme.\nExplanation: the verb dormir is irregular.", "El gato duerme.", ("explanation",)),
    ("Le chat dort.\nLiterally: the cat sleeps.", "Le chat dort.", ("explanation",)),
    ("Le chat dort.\nEnglish: The dog barks.\nFrench: Le chien aboie.", "Le chat dort.", ("extra_lines",)),
    ("\n\nLe chat dort.\n", "Le chat dort.", ()),
    (
        "Sure! Here is the translation:\n\n\"Das Haus ist rot.\"\n\nNote: 'rot' means red.",
        "Das Haus ist rot.",
        ("preamble", "explanation", "quotes"),
    ),
]


@pytest.mark.parametrize(("raw", "text", "actions"), CASES)
def test_sentence_level_cleanup(raw: str, text: str, actions: tuple[str, ...]) -> None:
    result = clean(raw, sentence_level=True)
    assert result.text == text
    assert result.actions == actions
    assert result.cleaned == bool(actions) and not result.refused and not result.empty


def test_paragraph_level_keeps_lines() -> None:
    raw = "Erste Zeile.\nZweite Zeile.\n\nNote: two lines."
    assert clean(raw, sentence_level=False).text == "Erste Zeile.\nZweite Zeile."
    assert clean(raw, sentence_level=True).text == "Erste Zeile."


@pytest.mark.parametrize(
    "raw",
    [
        "I'm sorry, but I can't translate that text.",
        "I am sorry, I cannot help with this request.",
        "Sorry, I'm unable to provide a translation of this content.",
        "I cannot translate this.",
        "I can't assist with that.",
        "As an AI language model, I do not have opinions.",
        "Unfortunately, I am not able to translate offensive content.",
    ],
)
def test_refusals_are_flagged_not_replaced(raw: str) -> None:
    result = clean(raw, sentence_level=True)
    assert result.refused and result.text == raw and "refused" in result.flags()


@pytest.mark.parametrize(
    "raw",
    [
        "I'm sorry I missed your call yesterday.",
        "Sorry for the delay, the train was late.",
        "I cannot come to the meeting on Friday.",
        "Lo siento, no puedo traducir eso.",
    ],
)
def test_ordinary_sentences_are_not_refusals(raw: str) -> None:
    assert not clean(raw, sentence_level=True).refused


def test_refusal_like_source_is_translated_not_refused() -> None:
    source = "I'm sorry, but I can't help you with the move."
    assert is_refusal(source)
    assert not clean("I'm sorry, but I can't help you with the move.", True, source=source).refused


def test_quotes_kept_when_the_source_is_quoted_or_inner_quotes() -> None:
    assert clean('"¡Alto!"', True, source='"Stop!"').text == '"¡Alto!"'
    assert clean('"A" y "B"', True).text == '"A" y "B"'
    assert clean("'", True).text == "'"


def test_empty_and_label_only_outputs() -> None:
    assert clean("", True).empty and clean("   \n ", True).empty
    only_label = clean("Translation:", True)
    assert only_label.text == "Translation:" and not only_label.empty
    fence_only = clean("```\n```", True)
    assert fence_only.empty and fence_only.flags()[-1] == "empty"


def test_translation_that_starts_like_a_label_is_kept() -> None:
    # no colon: not a preamble, even though it starts with a language name or "here is"
    assert clean("German engineers built the bridge.", True).text == "German engineers built the bridge."
    assert clean("Here is the station.", True).text == "Here is the station."
    assert clean("Translation services are closed.", True).text == "Translation services are closed."


def test_counts() -> None:
    results = [clean(r, True) for r in ("Hola.", "Translation: Hola.", "", "I cannot translate this.")]
    assert counts(results) == {"segments": 4, "cleaned": 1, "empty": 1, "refused": 1}
    assert counts([]) == {"segments": 0, "cleaned": 0, "empty": 0, "refused": 0}
    assert Cleaned("x").flags() == []
