"""Issue 26 (5, 6, 7): align without a match, non-finite human scores, identical systems."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mtharness.data.loaders import SAMPLE_DIR
from tests.conftest import run_cli


def _lines(n: int) -> list[str]:
    return (SAMPLE_DIR / "sample.es").read_text(encoding="utf-8").split("\n")[:n]


def test_align_without_any_match_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "orig.txt").write_text(
        "The quick brown fox jumps over the lazy dog.\n\nA second paragraph here.\n"
    )
    (tmp_path / "other.txt").write_text("Zzzz qqqq xxxx.\n\nWwww vvvv.\n")
    done = run_cli(["align", "orig.txt", "other.txt"], tmp_path)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "no paragraph of other.txt matches" in lines[0], done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("bad", ["inf", "-inf", "nan", "Infinity"])
def test_non_finite_human_score_is_refused_naming_file_and_line(tmp_path: Path, bad: str) -> None:
    lines = _lines(20)
    (tmp_path / "ref.es").write_text("".join(f"{x}\n" for x in lines))
    (tmp_path / "a.es").write_text("".join(f"{x}\n" for x in lines))
    (tmp_path / "b.es").write_text("".join(f"{x.replace('a', 'o')}\n" for x in lines))
    (tmp_path / "human.tsv").write_text(f"a\t0.5\nb\t{bad}\n")
    args = ["compare", "--refs", "ref.es", "--systems", "a.es", "b.es", "--human", "human.tsv", "--ci-n", "5"]
    done = run_cli([*args, "--paired", "none", "--json", "out.json"], tmp_path)
    assert done.returncode == 2
    line = done.stderr.strip().splitlines()
    assert len(line) == 1 and "human.tsv, line 2" in line[0] and "not a finite number" in line[0]
    assert not (tmp_path / "out.json").exists()


@pytest.mark.parametrize("method", ["bs", "ar"])
def test_identical_systems_are_never_significantly_different(tmp_path: Path, method: str) -> None:
    lines = _lines(30)
    (tmp_path / "ref.es").write_text("".join(f"{x}\n" for x in lines))
    hyp = "".join(f"{x.replace('a', 'o', 1)}\n" for x in lines)
    (tmp_path / "a.es").write_text(hyp)
    (tmp_path / "b.es").write_text(hyp)
    args = ["compare", "--refs", "ref.es", "--systems", "a.es", "b.es", "--paired", method]
    done = run_cli([*args, "--paired-n", "200", "--ci-n", "10", "--json", "out.json"], tmp_path)
    assert done.returncode == 0, done.stderr
    text = (tmp_path / "out.json").read_text()
    payload = json.loads(text)
    for metric in payload["directions"]["forward"]["metrics"].values():
        b = metric["systems"]["b"]
        assert b["p_value"] == 1.0 and b["significant"] is False
        assert metric["systems"]["a"]["cluster"] == b["cluster"]
        assert len(metric["clusters"]) == 1
    assert "*" not in done.stdout.split("pairwise p-values")[1].split("\n", 2)[2]
