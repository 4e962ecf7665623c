"""Translator capabilities: declared defaults, a protocol-only backend gets the same, the cache obeys them."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from mtharness.core import CacheCounts, MtharnessError
from mtharness.data.loaders import load_sample
from mtharness.run.cache import CachedTranslator, with_cache
from mtharness.run.evaluate import evaluate
from mtharness.translators import base
from mtharness.translators.apertium import ApertiumTranslator
from mtharness.translators.echo import EchoTranslator
from mtharness.translators.files import FilesTranslator
from mtharness.translators.gloss import GlossTranslator


class Upper:
    """Follows the protocol only: no base class, no optional hooks."""

    name = "upper"

    def translate(self, texts: Sequence[str], src: str, tgt: str) -> list[str]:
        return [t.upper() for t in texts]

    def identity(self) -> dict[str, Any]:
        return {"backend": "upper"}


class Numbered(base.TranslatorBase):
    """Prefixes each output with its position in the call: NOT context-free, and says so."""

    name = "numbered"
    context_free = False

    def translate(self, texts: Sequence[str], src: str, tgt: str) -> list[str]:
        return [f"{i} {t}" for i, t in enumerate(texts)]

    def identity(self) -> dict[str, Any]:
        return {"backend": "numbered"}

    def check_direction(self, src: str, tgt: str) -> None:
        if tgt == "xx":
            raise MtharnessError(f"numbered: no {src}-{tgt}")

    def run_info(self) -> dict[str, Any]:
        return {"numbered": {"calls": 1}}


def test_defaults_are_the_same_with_or_without_the_base_class() -> None:
    for translator in (Upper(), EchoTranslator()):
        assert isinstance(translator, base.Translator)
        base.check_direction(translator, "en", "xx")  # every pair accepted
        assert base.run_info(translator) == {} and base.translation_cache_counts(translator) == {}
        assert base.is_cacheable(translator) and base.is_context_free(translator)


def test_shipped_backends_declare_their_capabilities() -> None:
    assert all(
        isinstance(t, base.TranslatorBase)
        for t in (EchoTranslator(), ApertiumTranslator(), GlossTranslator())
    )
    files = FilesTranslator()
    assert not base.is_cacheable(files) and not base.is_context_free(files)


def test_hooks_are_used(tmp_path: Path) -> None:
    numbered = Numbered()
    with pytest.raises(MtharnessError, match="no en-xx"):
        base.check_direction(numbered, "en", "xx")
    # not context-free: never cached, whatever the config says (its outputs depend on the batch)
    assert with_cache(numbered, True, tmp_path) is numbered
    cached = with_cache(Upper(), True, tmp_path)
    assert isinstance(cached, CachedTranslator) and base.is_context_free(cached)
    result = evaluate(load_sample().subset(3), numbered, [], progress=False)
    assert result.translator_notes["numbered"] == {"calls": 1} and result.forward.cache is None
    result = evaluate(load_sample().subset(3), cached, [], progress=False)
    assert result.forward.cache == CacheCounts(hits=0, misses=3)
    assert base.translation_cache_counts(cached)["en-es"] == CacheCounts(hits=0, misses=3)
