"""Named test sets (dataset.testset + dataset.pair) from the data root and from sacrebleu's cache."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mtharness.core import MtharnessError
from mtharness.data import load_wmt
from mtharness.data.testsets import available, resolve
from tests.conftest import SHARED_DATA, compose

MTHARNESS = [sys.executable, "-m", "mtharness"]


def _fill_sacrebleu_cache(cache: Path) -> None:
    """Lay out two processed test sets where sacrebleu itself puts them (its own path function decides
    the file names, so a sacrebleu release that moves them fails here). The texts are our own."""
    script = """
from pathlib import Path
from sacrebleu.dataset import DATASETS
files = {
    ("wmt14", "src"): ["The house is red.", "We left early."],
    ("wmt14", "ref"): ["Das Haus ist rot.", "Wir gingen früh."],
    ("wmt22", "src"): ["A cat sleeps.", "Rain fell all night.", "He laughed."],
    ("wmt22", "ref:A"): ["Eine Katze schläft.", "Es regnete die ganze Nacht.", "Er lachte."],
    ("wmt22", "ref:B"): ["Eine Katze schlaeft.", "Die ganze Nacht regnete es.", "Er hat gelacht."],
    ("wmt22", "docid"): ["d1", "d1", "d2"],
}
for (name, field), lines in files.items():
    path = Path(DATASETS[name]._get_txt_file_path("en-de", field))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\\n".join(lines) + "\\n", encoding="utf-8")
"""
    env = {**os.environ, "SACREBLEU": str(cache)}
    subprocess.run([sys.executable, "-c", script], env=env, check=True)


@pytest.fixture
def sacrebleu_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "sacrebleu"
    _fill_sacrebleu_cache(cache)
    monkeypatch.setenv("SACREBLEU", str(cache))
    monkeypatch.setenv("MTHARNESS_DATA", str(tmp_path / "no-data-root"))
    (tmp_path / "no-data-root").mkdir()
    return cache


def test_sacrebleu_cache_test_sets_are_found_and_loaded(sacrebleu_cache: Path) -> None:
    found = {(t.testset, t.pair): t for t in available()}
    assert set(found) == {("wmt14", "en-de"), ("wmt22", "en-de")}
    assert list(found["wmt22", "en-de"].references) == ["A", "B"]
    ds = load_wmt(testset="wmt22", pair="en-de")
    assert ds.name == "wmt22-en-de" and len(ds) == 3 and ds.ref_names == ("A", "B")
    assert ds.reference_streams[1][1] == "Die ganze Nacht regnete es."
    assert [s.doc_id for s in ds.segments] == ["d1", "d1", "d2"]
    one = load_wmt(testset="wmt22", pair="en-de", refs=["B"])
    assert one.ref_names == ("B",)
    assert load_wmt(testset="wmt14", pair="en-de").reference_streams == [
        ["Das Haus ist rot.", "Wir gingen früh."]
    ]


def test_unknown_names_are_one_line_errors(sacrebleu_cache: Path) -> None:
    with pytest.raises(MtharnessError, match="available: wmt14, wmt22"):
        resolve("wmt99", "en-de")
    with pytest.raises(MtharnessError, match="no pair fr-en; available pairs: en-de"):
        resolve("wmt22", "fr-en")
    with pytest.raises(MtharnessError, match="SRC-TGT"):
        resolve("wmt22", "english")
    with pytest.raises(MtharnessError, match="no reference 'C'"):
        load_wmt(testset="wmt22", pair="en-de", refs=["C"])
    with pytest.raises(MtharnessError, match=r"dataset\.testset=NAME dataset\.pair=SRC-TGT"):
        load_wmt()


def test_datasets_command_lists_the_cache_and_writes_json(sacrebleu_cache: Path, tmp_path: Path) -> None:
    out = tmp_path / "sets.json"
    proc = subprocess.run([*MTHARNESS, "datasets", "--json", str(out)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "wmt22 en-de  [sacrebleu cache]  3 segments; refs A,B; docids" in proc.stdout
    listed = json.loads(out.read_text())
    assert listed["sacrebleu_cache"] == str(sacrebleu_cache)
    assert [(r["testset"], r["segments"]) for r in listed["testsets"]] == [("wmt14", 2), ("wmt22", 3)]


@pytest.mark.shared_data
def test_wmt23_by_name_equals_the_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    if not (SHARED_DATA / "wmt23" / "en-de").is_dir():
        pytest.skip(f"WMT23 pack not found under {SHARED_DATA}")
    monkeypatch.setenv("MTHARNESS_DATA", str(SHARED_DATA))
    by_name = load_wmt(testset="wmt23", pair="en-de")
    by_path = load_wmt(str(SHARED_DATA / "wmt23" / "en-de"))
    assert by_name.content_hash() == by_path.content_hash()
    assert by_name.name == "wmt23-en-de" and len(by_name) == 557
    found = resolve("wmt23", "zh-en")
    assert found.origin == "data root" and "mqm.seg.score" in found.human and len(found.systems) == 8


@pytest.mark.shared_data
def test_config_composes_the_named_test_set(monkeypatch: pytest.MonkeyPatch) -> None:
    if not (SHARED_DATA / "wmt23").is_dir():
        pytest.skip(f"WMT23 pack not found under {SHARED_DATA}")
    monkeypatch.setenv("MTHARNESS_DATA", str(SHARED_DATA))
    from hydra.utils import instantiate

    cfg = compose(["dataset=wmt", "dataset.pair=zh-en"])
    ds = instantiate(cfg.dataset)
    assert str(ds.pair) == "zh-en" and len(ds) == 1976
