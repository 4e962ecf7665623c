"""Lines end only at \\n (as in sacrebleu and `wc -l`): a lone \\r is whitespace, reported once."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import sacrebleu

from mtharness.data.loaders import SAMPLE_DIR, load_files, load_tsv
from mtharness.textio import read_lines
from mtharness.translators.files import FilesTranslator
from tests.conftest import run_cli


def _sample(name: str, n: int) -> list[str]:
    return (SAMPLE_DIR / name).read_text(encoding="utf-8").split("\n")[:n]


def _write_raw(path: Path, lines: list[str]) -> Path:
    path.write_bytes(("\n".join(lines) + "\n").encode("utf-8"))
    return path


def _with_cr(lines: list[str], index: int) -> list[str]:
    """The same lines with the first space of line ``index`` (0-based) turned into a lone \\r."""
    out = list(lines)
    assert " " in out[index]
    out[index] = out[index].replace(" ", "\r", 1)
    return out


def test_lone_cr_is_a_space_crlf_is_a_line_end(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "mixed.txt"
    path.write_bytes(b"one\r\ntwo\rhalf\r\nthree\n\x0bfour\xe2\x80\xa8five\n")
    with caplog.at_level(logging.WARNING, logger="mtharness"):
        lines = read_lines(path, "source file")
        assert read_lines(path, "source file") == lines  # read twice, warned once
        assert read_lines(path, "translator.source file") == lines  # even under another name
    assert lines == ["one", "two half", "three", "\x0bfour\u2028five"]
    assert len(lines) == path.read_bytes().count(b"\n")  # what wc -l counts
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1
    assert f"source file {path}" in warnings[0] and "line 2;" in warnings[0]


def test_warning_lists_every_line_number(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = _write_raw(
        tmp_path / "many.txt", [f"a\rb {i}" if i in (3, 7, 12) else f"x {i}" for i in range(1, 15)]
    )
    with caplog.at_level(logging.WARNING, logger="mtharness"):
        assert len(read_lines(path)) == 14
    assert "lines 3, 7, 12;" in caplog.records[0].getMessage()


def test_tsv_and_files_translator_split_at_newline_only(tmp_path: Path) -> None:
    tsv = tmp_path / "data.tsv"
    tsv.write_bytes(b"source\treference\nHello\rthere\tHola\x1cah\nBye\tAdios\n")
    ds = load_tsv(str(tsv), "en", "es")
    assert ds.sources == ["Hello there", "Bye"]
    assert ds.reference_streams == [["Hola\x1cah", "Adios"]]
    src = _write_raw(tmp_path / "src.en", ["a b", "c d", "e f"])
    hyp = _write_raw(tmp_path / "hyp.es", ["x\ry", "z", "w"])
    translator = FilesTranslator(forward=str(hyp), source=str(src))
    assert translator.translate(["a b", "c d", "e f"], "en", "es") == ["x y", "z", "w"]


def test_lone_cr_in_source_and_reference_keeps_alignment(tmp_path: Path) -> None:
    """The issue's repro on the bundled sample: 20 lines, a lone CR inside source line 5 and ref line 15."""
    src = _write_raw(tmp_path / "src.en", _with_cr(_sample("sample.en", 20), 4))
    ref = _write_raw(tmp_path / "ref.es", _with_cr(_sample("sample.es", 20), 14))
    ds = load_files(str(src), "en", "es", [str(ref)])
    assert len(ds) == 20
    assert ds.segments[4].source == _sample("sample.en", 20)[4]
    assert ds.segments[14].references[0] == _sample("sample.es", 20)[14]


@pytest.mark.apertium
def test_lone_cr_run_scores_equal_sacrebleu(tmp_path: Path, apertium: None) -> None:
    src = _write_raw(tmp_path / "src.en", _with_cr(_sample("sample.en", 20), 4))
    ref = _write_raw(tmp_path / "ref.es", _with_cr(_sample("sample.es", 20), 14))
    proc = run_cli(
        [
            "run",
            "dataset=files",
            f"dataset.src={src}",
            f"dataset.refs=[{ref}]",
            "dataset.src_lang=en",
            "dataset.tgt_lang=es",
            "translator=apertium",
            "round_trip=false",
            "cache.enabled=false",
            "progress=false",
            "validity.langid.enabled=false",
            f"hydra.run.dir={tmp_path / 'run'}",
        ],
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout + proc.stderr
    assert out.count("lone carriage return") == 2
    assert f"source file {src}: a lone carriage return (\\r) inside line 5;" in out
    assert f"reference file {ref}: a lone carriage return (\\r) inside line 15;" in out
    scores = json.loads((tmp_path / "run" / "scores.json").read_text(encoding="utf-8"))
    assert scores["n_segments"] == 20
    # sacrebleu reads files the same way (open(..., newline="\n")): its BLEU on the raw files is ours
    with open(ref, encoding="utf-8", newline="\n") as fh:
        refs = [line.rstrip("\n") for line in fh]
    hyps = (tmp_path / "run" / "hyp.es.txt").read_text(encoding="utf-8").split("\n")[:-1]
    assert len(refs) == len(hyps) == 20
    bleu = sacrebleu.metrics.BLEU()
    expected = bleu.corpus_score(hyps, [refs])
    got = scores["scores"]["forward"]["BLEU"]
    assert got["score"] == pytest.approx(round(expected.score, 4), abs=1e-4)
    assert got["signature"] == str(bleu.get_signature())
