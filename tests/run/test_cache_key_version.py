"""Cache key version 2 (issue 14): translations cached before segments were isolated are never reused."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from mtharness.core import CacheCounts
from mtharness.run.cache import CACHE_KEY_VERSION, CachedTranslator, insert, open_cache, system_key
from mtharness.translators.apertium import ApertiumTranslator
from mtharness.translators.echo import EchoTranslator


def _version_1_key(identity: dict[str, object]) -> str:
    """How system_key hashed an identity before the bump (plain canonical JSON)."""
    blob = json.dumps(identity, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def test_key_carries_the_version() -> None:
    identity = {"backend": "echo"}
    assert CACHE_KEY_VERSION >= 2
    assert system_key(identity) != _version_1_key(identity)
    assert system_key(identity) == system_key(dict(identity))  # still deterministic


def test_entries_under_the_old_key_are_not_hits(tmp_path: Path) -> None:
    identity = EchoTranslator().identity()
    conn = open_cache(tmp_path / "translations.sqlite")
    insert(conn, _version_1_key(identity), "en-es", {"Hello.": "STALE"}, identity)
    conn.close()
    cached = CachedTranslator(EchoTranslator(), tmp_path)
    assert cached.translate(["Hello."], "en", "es") == ["Hello."]
    assert cached.cache_counts() == {"en-es": CacheCounts(hits=0, misses=1)}
    cached.close()


def test_apertium_identity_names_its_isolation() -> None:
    """The isolated method is part of Apertium's identity, so its cache key differs from the old one."""
    translator = ApertiumTranslator()
    assert translator.context_free is True
    assert translator.identity()["isolation"] == ApertiumTranslator.ISOLATION
