"""py3langid's model unpacked once per user: the same model as py3langid's loader, whatever the cache holds."""

from __future__ import annotations

import lzma
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mtharness.validity.langid_model import UNPACKED_VERSION, load_identifier, unpacked_model

py3langid = pytest.importorskip(
    "py3langid", reason="py3langid not installed (pip install 'mtharness[validity]')"
)
from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier  # noqa: E402

PACKED = Path(MODEL_DIR) / MODEL_FILE
TEXTS = [
    "The committee will publish its findings early next spring.",
    "La comisión publicará sus conclusiones a principios de la próxima primavera.",
    "Der Ausschuss wird seine Ergebnisse im nächsten Frühjahr veröffentlichen.",
    "Le comité publiera ses conclusions au début du printemps prochain.",
    "委员会将于明年春天公布调查结果。",
]
FIELDS = ("nb_ptc", "nb_pc", "nb_classes", "tk_nextmove", "tk_row", "tk_output")

pytestmark = pytest.mark.skipif(
    metadata.version("py3langid") != UNPACKED_VERSION,
    reason=f"the unpacked reader knows py3langid {UNPACKED_VERSION}'s model layout; others load as usual",
)


@pytest.fixture(scope="module")
def packaged() -> Any:
    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def _same(a: Any, b: Any) -> None:
    for name in FIELDS:
        assert np.array_equal(np.asarray(getattr(a, name)), np.asarray(getattr(b, name))), name
    assert [a.classify(t) for t in TEXTS] == [b.classify(t) for t in TEXTS]


def _cached(home: Path) -> list[Path]:
    return sorted((home / "mtharness" / "langid").glob("*")) if (home / "mtharness").exists() else []


def test_first_load_unpacks_once_and_later_loads_read_the_file(
    packaged: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    _same(load_identifier(), packaged)
    (unpacked,) = _cached(tmp_path)  # one file, no .part left behind
    assert unpacked.name.startswith(f"py3langid-{UNPACKED_VERSION}-") and unpacked.suffix == ".npz"
    assert unpacked.read_bytes() == lzma.decompress(PACKED.read_bytes())

    def no_unpacking(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the packed model was unpacked again")

    monkeypatch.setattr(lzma, "open", no_unpacking)
    monkeypatch.setattr(LanguageIdentifier, "from_model_file", no_unpacking)
    _same(load_identifier(), packaged)


@pytest.mark.parametrize("spoil", ["truncated", "garbage", "empty"])
def test_a_spoilt_unpacked_file_falls_back_to_the_packaged_model(
    packaged: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spoil: str
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    target = unpacked_model(PACKED)
    assert target is not None
    body = target.read_bytes()
    target.write_bytes(
        {"truncated": body[: len(body) // 2], "garbage": b"\xff\xfe not a zip", "empty": b""}[spoil]
    )
    _same(load_identifier(), packaged)


def test_an_unwritable_cache_loads_as_py3langid_does(
    packaged: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder\n", encoding="utf-8")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))  # mkdir under a file fails: no cache at all
    assert unpacked_model(PACKED) is None
    _same(load_identifier(), packaged)
    assert blocker.read_text(encoding="utf-8") == "not a folder\n"


def test_a_symlink_or_folder_where_the_file_goes_is_neither_read_nor_replaced(
    packaged: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "home"))
    target = unpacked_model(PACKED)
    assert target is not None
    elsewhere = tmp_path / "user-file.npz"
    elsewhere.write_bytes(b"the user's own file\n")
    target.unlink()
    target.symlink_to(elsewhere)
    assert unpacked_model(PACKED) is None
    _same(load_identifier(), packaged)
    assert target.is_symlink() and elsewhere.read_bytes() == b"the user's own file\n"
    target.unlink()
    target.mkdir()
    assert unpacked_model(PACKED) is None
    assert target.is_dir()
