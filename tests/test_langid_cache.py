"""Language ID without reloading py3langid's model: config checks, and labels kept in the cache."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from mtharness import validity
from mtharness.cli_run import run_from_config
from mtharness.core import MtharnessError
from mtharness.validity import check_config
from tests.conftest import compose


def forbid_model(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """From now on, any attempt to load py3langid's model is recorded and fails the run."""
    calls: list[Any] = []

    def refuse(languages: Any) -> Any:
        calls.append(languages)
        raise AssertionError("py3langid's model was loaded")

    monkeypatch.setattr(validity, "_identifier", refuse)
    return calls


def test_language_restriction_is_checked_without_the_model(monkeypatch: pytest.MonkeyPatch) -> None:
    if metadata.version("py3langid") != validity.LANGID_LABELS_VERSION:
        pytest.skip(f"LANGID_LABELS is py3langid {validity.LANGID_LABELS_VERSION}'s; the model checks others")
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


def test_label_list_matches_the_installed_model() -> None:
    if metadata.version("py3langid") != validity.LANGID_LABELS_VERSION:
        pytest.skip(f"LANGID_LABELS is py3langid {validity.LANGID_LABELS_VERSION}'s; the model checks others")
    assert set(validity._identifier(None).nb_classes) == validity.LANGID_LABELS
