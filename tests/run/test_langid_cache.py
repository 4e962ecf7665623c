"""Language ID without reloading py3langid's model: config checks, and labels kept in the cache."""

from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from mtharness.cli.run import run_from_config
from mtharness.core import CacheCounts, MtharnessError
from mtharness.run.cache import LangIdCache
from mtharness.run.record import RunRecord
from mtharness.run.writer import VOLATILE_KEYS
from mtharness.validity import checks as validity
from mtharness.validity.checks import LangIdConfig, check_config, detect_languages, langid_signature
from tests.conftest import compose

# echo copies its input, so the forward outputs are these lines: several languages, a repeat, and
# lines too short to identify ("und")
LINES = [
    "The cat sleeps on the chair next to the window every afternoon.",
    "El gato duerme en la silla junto a la ventana todas las tardes.",
    "O gato dorme na cadeira ao lado da janela todas as tardes.",
    "Die Katze schläft jeden Nachmittag auf dem Stuhl neben dem Fenster.",
    "El gato duerme en la silla junto a la ventana todas las tardes.",
    "OK",
    "",
    "12:30",
    "Le chat dort sur la chaise près de la fenêtre tous les après-midi.",
]


def _run(tmp_path: Path, name: str, *extra: str) -> dict[str, Any]:
    src = tmp_path / "src.en"
    src.write_text("\n".join(LINES) + "\n", encoding="utf-8")
    cfg = compose(
        [
            "translator=echo",
            "dataset=files",
            f"dataset.src={src}",
            "dataset.src_lang=en",
            "dataset.tgt_lang=es",
            "progress=false",
            f"cache.dir={tmp_path / 'cache'}",
            *extra,
        ]
    )
    record = run_from_config(cfg, tmp_path / name)
    assert isinstance(record, RunRecord)
    payload = record.to_json()  # what scores.json says
    rows = (tmp_path / name / "segments.jsonl").read_text(encoding="utf-8").splitlines()
    payload["forward_lang"] = [json.loads(r)["forward_lang"] for r in rows]
    return payload


labels_version = pytest.mark.skipif(
    metadata.version("py3langid") != validity.LANGID_LABELS_VERSION,
    reason=f"LANGID_LABELS is py3langid {validity.LANGID_LABELS_VERSION}'s; the model checks others",
)


def _langid_view(payload: dict[str, Any]) -> tuple[Any, ...]:
    return payload["off_target_rate"], payload["langid"], payload["forward_lang"]


def _stable(payload: dict[str, Any]) -> dict[str, Any]:
    """scores.json without what differs between identical runs, and the config (cache.enabled)."""
    return {k: v for k, v in payload.items() if k not in (*VOLATILE_KEYS, "config")}


def forbid_model(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """From now on, any attempt to load py3langid's model is recorded and fails the run."""
    calls: list[Any] = []

    def refuse(languages: Any) -> Any:
        calls.append(languages)
        raise AssertionError("py3langid's model was loaded")

    monkeypatch.setattr(validity, "_identifier", refuse)
    return calls


def test_cached_and_uncached_language_id_are_identical(tmp_path: Path) -> None:
    uncached = _run(tmp_path, "off", "cache.enabled=false")
    assert uncached["langid_cache"] is None and not (tmp_path / "cache").exists()
    first = _run(tmp_path, "first")
    rerun = _run(tmp_path, "rerun")
    assert first["langid_cache"] == {"hits": 0, "misses": len(LINES)}
    assert rerun["langid_cache"] == {"hits": len(LINES), "misses": 0}
    assert _langid_view(uncached) == _langid_view(first) == _langid_view(rerun)
    assert _stable(uncached) == _stable(rerun)
    segments = [(tmp_path / name / "segments.jsonl").read_bytes() for name in ("off", "first", "rerun")]
    assert segments[0] == segments[1] == segments[2]
    assert uncached["forward_lang"] == detect_languages(LINES, LangIdConfig())
    assert uncached["forward_lang"][5:8] == ["und", "und", "und"]
    assert 0 < uncached["off_target_rate"] < 1


def test_rerun_never_loads_the_langid_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = _run(tmp_path, "first")
    loads = forbid_model(monkeypatch)
    with pytest.raises(AssertionError, match="model was loaded"):
        _run(tmp_path, "cold", "cache.enabled=false")  # the guard works: no cache, the model is needed
    loads.clear()
    rerun = _run(tmp_path, "rerun")
    assert loads == []
    assert rerun["langid_cache"] == {"hits": len(LINES), "misses": 0}
    assert _langid_view(rerun) == _langid_view(first)


def test_changed_langid_config_misses_the_cache(tmp_path: Path) -> None:
    base = _run(tmp_path, "base")
    assert base["langid_cache"]["misses"] == len(LINES)
    for i, extra in enumerate(["validity.langid.min_letters=5", "validity.langid.languages=[en,es]"]):
        changed = _run(tmp_path, f"changed{i}", extra)
        assert changed["langid_cache"] == {"hits": 0, "misses": len(LINES)}, extra
        assert changed["langid"]["signature"] != base["langid"]["signature"]
    assert _run(tmp_path, "again")["langid_cache"]["hits"] == len(LINES)


@labels_version
def test_language_restriction_is_checked_without_the_model(monkeypatch: pytest.MonkeyPatch) -> None:
    loads = forbid_model(monkeypatch)
    check_config({"langid": {"languages": ["en", "es", "gl", "pt"]}})
    check_config({"langid": {"languages": None}})
    assert loads == []


def test_bad_language_code_is_the_same_one_line_error_before_translating(tmp_path: Path) -> None:
    cfg = compose(["translator=echo", "limit=3", "progress=false", "validity.langid.languages=[en,xx]"])
    with pytest.raises(MtharnessError) as err:
        run_from_config(cfg, tmp_path / "run")
    assert str(err.value) == (
        "validity.langid.languages: Unknown language code(s): {'xx'}; use ISO 639-1 codes (en, es, de)"
    )
    assert not (tmp_path / "run").exists()


@labels_version
def test_label_list_matches_the_installed_model() -> None:
    assert set(validity._identifier(None).nb_classes) == validity.LANGID_LABELS


def test_langid_cache_detects_each_missing_text_once(tmp_path: Path) -> None:
    seen: list[list[str]] = []

    def detect(texts: list[str]) -> list[str]:
        seen.append(texts)
        return [t[:2] for t in texts]

    cache = LangIdCache(tmp_path)
    assert cache.labels(["ab", "cd", "ab"], "sig", detect) == ["ab", "cd", "ab"]
    assert cache.labels(["cd", "ef", "ab"], "sig", detect) == ["cd", "ef", "ab"]
    assert cache.labels(["ab"], "other", detect) == ["ab"]
    assert seen == [["ab", "cd"], ["ef"], ["ab"]]
    assert cache.cache_counts() == CacheCounts(hits=2, misses=5)
    assert langid_signature(LangIdConfig(min_letters=5)) != langid_signature(LangIdConfig())
