"""align on a run's own outputs: rt files hold one paragraph per line; the report shows word diffs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mtharness.data import SAMPLE_DIR
from mtharness.data.documents import split_paragraphs
from mtharness.validity.align import word_diff
from tests.conftest import run_cli


def test_layouts() -> None:
    assert split_paragraphs("one\ntwo\n\nthree\n", "auto") == ["one two", "three"]
    assert split_paragraphs("one\ntwo\nthree\n", "auto") == ["one", "two", "three"]
    assert split_paragraphs("one\ntwo\n\nthree\n", "lines") == ["one", "two", "three"]
    assert word_diff("a b c", "a x c") == [("equal", "a"), ("delete", "b"), ("insert", "x"), ("equal", "c")]


@pytest.mark.apertium
def test_align_a_real_runs_round_trip(apertium: None, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    proc = run_cli(["run", "experiment=document", f"hydra.run.dir={run_dir}", "progress=false"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    rt = run_dir / "rt.en.txt"
    out = tmp_path / "align.json"
    proc = run_cli(["align", str(SAMPLE_DIR / "article.en"), str(rt), "--json", str(out)], cwd=tmp_path)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    report = json.loads(out.read_text())
    assert report["garbled"]["n_paragraphs"] == 8 and report["unmatched_original"] == []
    assert [b["original"] for b in report["beads"]] == [[i] for i in range(1, 9)]
    assert "word diff, original -> garbled" in proc.stdout and "[-" in proc.stdout and "{+" in proc.stdout
    # the run's rt file with paragraph 3 dropped: still one paragraph per line, and the gap is found
    lines = rt.read_text(encoding="utf-8").splitlines()
    dropped = tmp_path / "dropped.en"
    dropped.write_text("\n".join(lines[:2] + lines[3:]) + "\n", encoding="utf-8")
    proc = run_cli(
        ["align", str(SAMPLE_DIR / "article.en"), str(dropped), "--json", str(out), "--no-texts"],
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(out.read_text())["unmatched_original"] == [3] and "word diff" not in proc.stdout
