"""The HTML reports as a person sees them: rendered by headless Chromium, sections checked in the
rendered DOM, and a screenshot that is a real picture (not a blank page)."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from mtharness.cli import main as cli_main
from tests.conftest import REPO, run_cli

sys.path.insert(0, str(REPO / "scripts"))
from screenshot_report import find_browser, screenshot

pytestmark = pytest.mark.skipif(
    find_browser() is None, reason="no chromium installed (apt-get install -y chromium)"
)


def rendered_dom(html: Path) -> str:
    """The page's DOM after Chromium ran it (what a person's browser shows, as text)."""
    with tempfile.TemporaryDirectory() as profile:
        cmd = [find_browser(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               f"--user-data-dir={profile}", "--dump-dom", html.resolve().as_uri()]  # fmt: skip
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)  # type: ignore[arg-type]
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def assert_real_picture(png: Path) -> None:
    import matplotlib.image as mpimg

    pixels = mpimg.imread(png)
    assert pixels.shape[0] >= 1000 and pixels.std() > 0.05  # tall and far from one flat colour


def test_comparison_report_in_chromium(tmp_path: Path) -> None:
    ref = ["Das Haus ist rot.", "Wir gehen morgen früh.", "Der Zug kam spät an."] * 8
    systems = {
        "strong": ["Das Haus ist rot.", "Wir gehen morgen früh.", "Der Zug kam spät an."] * 8,
        "middle": ["Das Haus ist rot.", "Wir gehen morgen.", "Der Zug kam an."] * 8,
        "weak": ["Ein Haus rot.", "Gehen morgen.", "Zug spät."] * 8,
    }
    (tmp_path / "ref.de").write_text("\n".join(ref) + "\n")
    files = []
    for name, lines in systems.items():
        (tmp_path / f"{name}.de").write_text("\n".join(lines) + "\n")
        files.append(str(tmp_path / f"{name}.de"))
    (tmp_path / "human.tsv").write_text("strong\t90\nmiddle\t70\nweak\t20\n")
    html = tmp_path / "cmp.html"
    argv = [
        "compare",
        "--refs",
        str(tmp_path / "ref.de"),
        "--systems",
        *files,
        "--metrics",
        "chrf",
        "bleu",
        "ter",
    ]
    argv += [
        "--human",
        str(tmp_path / "human.tsv"),
        "--paired-n",
        "200",
        "--ci-n",
        "200",
        "--html",
        str(html),
        "--quiet",
    ]
    assert cli_main(argv) == 0
    dom = rendered_dom(html)
    assert "How to read this report" not in dom  # output files alone: no round trip to explain
    for section in ("Significance clusters (chrF2)", "Pairwise p-values",
                    "axis from zero", "Sentence-score distribution", "Correlation with human scores",
                    "metric against human scores", "sorted by chrF2, best first",
                    "Word F1 by frequency in the references", "Salient n-grams against the best system"):  # fmt: skip
        assert section in dom, section
    assert dom.index(">strong<") < dom.index(">middle<") < dom.index(">weak<")  # best first
    png = screenshot(html, tmp_path / "cmp.png", 1300, 2600)
    assert_real_picture(png)


@pytest.mark.apertium
def test_single_run_report_in_chromium(apertium: None, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    proc = run_cli(
        [
            "run",
            "experiment=document",
            f"hydra.run.dir={run_dir}",
            "progress=false",
            "validity.semantic.enabled=false",
        ],
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert cli_main(["report", str(run_dir), "--metrics", "bleu", "chrf", "ter"]) == 0
    dom = rendered_dom(run_dir / "report.html")
    for section in ("Whole-document scores", "copy rate", "off-target rate", "chrF2++", "TER",
                    'class="pivot"', "Round trip", "How to read this report"):  # fmt: skip
        assert section in dom, section
    assert_real_picture(screenshot(run_dir / "report.html", tmp_path / "run.png", 1300, 2400))
