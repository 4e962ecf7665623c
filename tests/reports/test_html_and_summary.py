"""HTML report (parses, escapes segment text, loads nothing), analysis helpers, leaderboard from a
real multirun sweep, comparing and reporting finished runs."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from sacrebleu.metrics import CHRF

from mtharness.cli import main as cli_main
from mtharness.compare.analysis import (
    bucket_score,
    changed_word_share,
    length_buckets,
    wins_losses,
)
from mtharness.scoring.metrics import MetricSpec
from mtharness.scoring.significance import system_stats
from mtharness.validity.align import word_diff
from tests.conftest import REPO, run_cli

EVIL = "<script>alert(1)</script> & <b>bold</b>"


class _Collector(HTMLParser):
    """Records tags, script bodies and every URL-bearing attribute."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.scripts: list[str] = []
        self.urls: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self._in_script = tag == "script"
        self.urls += [v or "" for k, v in attrs if k in ("src", "href")]

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts.append(data)


def _write(path: Path, lines: list[str]) -> str:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def test_html_report_escapes_segments_and_is_self_contained(tmp_path: Path) -> None:
    src = _write(
        tmp_path / "src.en", ["the house is red", "hello world", "a long sentence about cats and dogs"]
    )
    ref = _write(
        tmp_path / "ref.de", ["das Haus ist rot", "hallo Welt", "ein langer Satz über Katzen und Hunde"]
    )
    a = _write(tmp_path / "base.de", ["das Haus ist rot", "hallo Welt", "ein Satz über Katzen"])
    b = _write(tmp_path / "evil.de", ["das Haus ist blau", EVIL, "ein langer Satz über Hunde"])
    html_path = tmp_path / "report.html"
    argv = ["compare", "--src", src, "--refs", ref, "--systems", a, b, "--trg-lang", "de"]
    assert cli_main([*argv, "--paired-n", "200", "--ci-n", "200", "--html", str(html_path), "--quiet"]) == 0
    html = html_path.read_text(encoding="utf-8")
    parser = _Collector()
    parser.feed(html)
    parser.close()
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in html
    assert "<script>alert(1)" not in html and "<b>bold</b>" not in html
    assert parser.tags.count("script") == 1 and "alert" not in "".join(
        parser.scripts
    )  # only our filter script
    assert parser.tags.count("table") >= 4 and "img" in parser.tags
    # nothing fetched from anywhere: images are data URIs, links are in-page anchors
    assert all(u.startswith(("data:image/png;base64,", "#")) for u in parser.urls), parser.urls
    assert "http://" not in html.replace("http://www.w3.org", "") and "https://" not in html


def test_screenshot_script(tmp_path: Path) -> None:
    sys.path.insert(0, str(REPO / "scripts"))
    from screenshot_report import find_browser, screenshot

    if find_browser() is None:
        pytest.skip("no chromium installed (apt-get install -y chromium)")
    page = tmp_path / "p.html"
    page.write_text("<!DOCTYPE html><html><body><h1>mtharness</h1></body></html>", encoding="utf-8")
    png = screenshot(page, tmp_path / "p.png", 400, 300)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_analysis_helpers() -> None:
    pieces = word_diff("the cat sat on the mat", "the dog sat on mat")
    assert ("delete", "cat") in pieces and ("insert", "dog") in pieces and ("delete", "the") in pieces
    assert " ".join(t for op, t in pieces if op != "insert") == "the cat sat on the mat"
    assert " ".join(t for op, t in pieces if op != "delete") == "the dog sat on mat"
    assert changed_word_share("a b c d", "a b c d") == 0.0 and changed_word_share("a b c d", "a x c y") == 0.5
    sources = ["w " * n for n in (1, 2, 3, 5, 8, 13, 21, 34)]
    buckets = length_buckets(sources, 4)
    assert sorted(i for b in buckets for i in b.indices) == list(range(8))
    hyps = ["a b c", "d e", "f g h i", "j", "k l", "m n o", "p", "q r s"]
    refs = [["a b d", "d e", "f g h", "j k", "k l", "m o", "p", "q r"]]
    st = system_stats(MetricSpec("chrf"), hyps, refs, "en")
    one = length_buckets(["x"] * 8, 1)[0]
    assert bucket_score(st, one) == pytest.approx(CHRF().corpus_score(hyps, refs).score)
    assert wins_losses([1, 2, 3], [2, 2, 1]) == {"wins": 1, "losses": 1, "ties": 1}
    assert wins_losses([10, 20], [5, 30], higher_is_better=False) == {"wins": 1, "losses": 1, "ties": 0}


@pytest.mark.slow
def test_multirun_leaderboard_compare_and_report(apertium: None, tmp_path: Path) -> None:
    results = tmp_path / "results"
    proc = run_cli(
        ["run", "-m", "translator=echo,apertium", "limit=10", f"results_dir={results}", "progress=false"],
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    runs = sorted(p.parent for p in results.rglob("scores.json"))
    assert len(runs) == 2 and all("multirun" in str(r) for r in runs)

    assert cli_main(["leaderboard", str(results)]) == 0
    md = (results / "leaderboard.md").read_text()
    assert "| echo |" in md and "| apertium |" in md and "## sample (en-es), 10 segments" in md
    rows = list(csv.DictReader((results / "leaderboard.csv").open()))
    assert {r["translator"] for r in rows} == {"echo", "apertium"}
    assert {"forward_BLEU", "round_trip_chrF2", "copy_rate"} <= set(rows[0])
    echo = next(r for r in rows if r["translator"] == "echo")
    assert float(echo["round_trip_chrF2"]) == pytest.approx(100.0)

    apertium_dir = next(r for r in runs if r.name.endswith("apertium_sample"))
    out = tmp_path / "runs.json"
    proc = run_cli(
        [
            "compare",
            *map(str, runs),
            "--baseline",
            "apertium",
            "--paired",
            "ar",
            "--paired-n",
            "200",
            "--json",
            str(out),
            "--html",
            str(tmp_path / "runs.html"),
        ],
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert "copies its input" in proc.stdout
    doc = json.loads(out.read_text())
    assert set(doc["directions"]) == {"forward", "round_trip"}
    scores = json.loads((apertium_dir / "scores.json").read_text())["scores"]
    for direction in ("forward", "round_trip"):
        got = doc["directions"][direction]["metrics"]["chrF2"]["systems"]["apertium"]["score"]
        assert got == pytest.approx(scores[direction]["chrF2"]["score"], abs=1e-4)

    proc = run_cli(["report", str(apertium_dir)], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    html = (apertium_dir / "report.html").read_text()
    assert "Round trip" in html and "<del" in html and "<ins" in html  # changed words highlighted


def test_compare_errors_are_one_line(tmp_path: Path) -> None:
    ref = _write(tmp_path / "ref.de", ["a", "b"])
    short = _write(tmp_path / "short.de", ["a"])
    proc = subprocess.run(
        [sys.executable, "-m", "mtharness", "compare", "--refs", ref, "--systems", short, "--trg-lang", "de"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (
        proc.returncode == 2
        and "line counts differ" in proc.stderr
        and len(proc.stderr.strip().splitlines()) == 1
    )
    proc = run_cli(["compare", "--refs", ref, "--systems", ref, "--baseline", "nope"], cwd=tmp_path)
    assert proc.returncode == 2 and "--baseline 'nope' is not one of the systems" in proc.stderr
