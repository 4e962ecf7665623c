from __future__ import annotations

import json
from pathlib import Path

import pytest

from mtharness.core import MtharnessError
from mtharness.data.loaders import (
    load_files,
    load_hf,
    load_jsonl,
    load_sample,
    load_tsv,
    load_wmt,
    wmt_systems,
)


def test_sample_is_shipped_and_aligned() -> None:
    ds = load_sample()
    assert len(ds) == 150
    assert ds.ref_names == ("A",)
    assert all(s.source and s.references[0] for s in ds.segments)
    assert str(ds.pair) == "en-es"


def test_sample_other_target_has_no_references() -> None:
    assert load_sample(tgt_lang="ca").ref_names == ()


def test_files_multiple_references_and_bom_crlf(tmp_path: Path) -> None:
    (tmp_path / "src.en").write_bytes("\ufeffHello\r\nWorld\r\n".encode())
    (tmp_path / "a.de").write_text("Hallo\nWelt\n", encoding="utf-8")
    (tmp_path / "b.de").write_text("Servus\nErde", encoding="utf-8")
    ds = load_files(str(tmp_path / "src.en"), "en", "de", [str(tmp_path / "a.de"), str(tmp_path / "b.de")])
    assert ds.sources == ["Hello", "World"]
    assert ds.reference_streams == [["Hallo", "Welt"], ["Servus", "Erde"]]
    assert ds.ref_names == ("A", "B")


def test_files_line_count_mismatch_names_both(tmp_path: Path) -> None:
    (tmp_path / "src.en").write_text("a\nb\nc\n")
    (tmp_path / "ref.de").write_text("a\nb\n")
    with pytest.raises(MtharnessError, match=r"src.en has 3 lines but .*ref.de has 2"):
        load_files(str(tmp_path / "src.en"), "en", "de", [str(tmp_path / "ref.de")])


def test_empty_segments_kept_in_place(tmp_path: Path) -> None:
    (tmp_path / "src.en").write_text("a\n\nc\n")
    assert load_files(str(tmp_path / "src.en"), "en", "de").sources == ["a", "", "c"]


def test_tsv_and_jsonl(tmp_path: Path) -> None:
    (tmp_path / "t.tsv").write_text("id\ten\tde\n7\tHi\tHallo\n8\tYes\tJa\n")
    ds = load_tsv(str(tmp_path / "t.tsv"), "en", "de", src_column="en", ref_columns=["de"], id_column="id")
    assert [s.id for s in ds.segments] == ["7", "8"] and ds.reference_streams == [["Hallo", "Ja"]]
    rows = [{"src": "Hi\nthere", "ref": "Hallo"}, {"src": "Yes", "ref": "Ja"}]
    (tmp_path / "t.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    ds = load_jsonl(str(tmp_path / "t.jsonl"), "en", "de", src_field="src", ref_fields=["ref"])
    assert ds.sources == ["Hi there", "Yes"]  # embedded newline would break line alignment


def test_tsv_missing_column_lists_header(tmp_path: Path) -> None:
    (tmp_path / "t.tsv").write_text("en\tde\nHi\tHallo\n")
    with pytest.raises(MtharnessError, match="no column 'source'"):
        load_tsv(str(tmp_path / "t.tsv"), "en", "de")


def test_hf_loader_local_jsonl_translation_dicts(tmp_path: Path) -> None:
    rows = [
        {"translation": {"en": "Good morning", "de": "Guten Morgen"}},
        {"translation": {"en": "Yes", "de": "Ja"}},
    ]
    (tmp_path / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    ds = load_hf(str(tmp_path), "en", "de", split="test")
    assert ds.sources == ["Good morning", "Yes"]
    assert ds.reference_streams == [["Guten Morgen", "Ja"]]


def test_hf_loader_unreachable_hub_id_is_one_clear_line() -> None:
    with pytest.raises(MtharnessError, match=r"could not be loaded.*local folder"):
        load_hf("no-such-org/no-such-dataset", "en", "de")


def test_wmt_folder(wmt23: Path) -> None:
    ds = load_wmt(str(wmt23 / "en-de"))
    assert str(ds.pair) == "en-de" and len(ds) == 557 and ds.ref_names == ("A",)
    assert ds.segments[0].doc_id is not None
    systems = wmt_systems(wmt23 / "en-de")
    assert {"ONLINE-B", "GPT4-5shot", "AIRC"} <= set(systems)


def test_content_hash_changes_with_text() -> None:
    a = load_sample()
    b = load_sample().subset(149)
    assert a.content_hash() == load_sample().content_hash()
    assert a.content_hash() != b.content_hash()
