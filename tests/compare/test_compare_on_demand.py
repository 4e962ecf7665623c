"""compare computes the segment-level analysis only when its output is asked for (issue 28)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mtharness.cli import main as cli_main
from mtharness.compare import analysis

ANALYSIS_KEYS = {"salient_ngrams", "word_f_by_frequency", "wins_losses", "worst_lines", "sentence_histograms"}


def _files(tmp_path: Path) -> list[str]:
    ref = ["The cat sat on the mat.", "It rained all day long.", "We will meet at noon tomorrow."] * 3
    systems = {
        "good": ["The cat sat on the mat.", "It rained all day.", "We will meet at noon tomorrow."] * 3,
        "poor": ["A cat is on a mat.", "Rain all the day.", "We meet noon."] * 3,
    }
    (tmp_path / "ref.en").write_text("\n".join(ref) + "\n")
    for name, lines in systems.items():
        (tmp_path / f"{name}.en").write_text("\n".join(lines) + "\n")
    argv = ["compare", "--refs", str(tmp_path / "ref.en"), "--metrics", "bleu", "chrf", "--quiet"]
    return [*argv, "--systems", *(str(tmp_path / f"{n}.en") for n in systems)]


def _count_analyses(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = analysis.analyse

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(analysis, "analyse", counted)
    return calls


def test_json_without_analysis_flag_skips_the_analysis(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _count_analyses(monkeypatch)
    plain, full = tmp_path / "plain.json", tmp_path / "full.json"
    assert cli_main([*_files(tmp_path), "--json", str(plain)]) == 0
    assert calls == []
    assert cli_main([*_files(tmp_path), "--json", str(full), "--analysis"]) == 0
    assert calls == [1]
    fwd_plain = json.loads(plain.read_text())["directions"]["forward"]
    fwd_full = json.loads(full.read_text())["directions"]["forward"]
    assert "analysis" not in fwd_plain
    assert set(fwd_full["analysis"]) >= ANALYSIS_KEYS
    # everything else is the same document, number for number
    assert {k: v for k, v in fwd_full.items() if k != "analysis"} == fwd_plain


def test_html_always_has_the_analysis(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _count_analyses(monkeypatch)
    page, doc = tmp_path / "c.html", tmp_path / "c.json"
    assert cli_main([*_files(tmp_path), "--html", str(page), "--json", str(doc)]) == 0
    assert calls == [1]
    assert "analysis" in json.loads(doc.read_text())["directions"]["forward"]
    assert "poor" in page.read_text()
