"""`mtharness serve` in a real browser: the server started as a process over real runs, Playwright
driving Debian's Chromium through every page; screenshots under the test's tmp dir. The docs'
screenshots (docs/images/browse-*.png) are rewritten from the same session only when asked for
(`MTHARNESS_DOC_IMAGES=1`): a test run never changes the checkout's tracked files."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import REPO, apertium_has, run_cli
from tests.serve.test_app_cli import server

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="no chromium (apt-get install -y chromium)"),
]
sync_api = pytest.importorskip("playwright.sync_api")
DOC_IMAGES = REPO / "docs" / "images"


def test_every_page_in_chromium(serve_results: Path, tmp_path: Path) -> None:
    shots = []
    with server([str(serve_results), "--port", "0"]) as url, sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1000, "height": 700})

        def shot(name: str) -> None:
            path = tmp_path / f"browse-{name}.png"
            page.screenshot(path=str(path))
            shots.append(path)

        page.goto(url)
        page.get_by_role("link", name="BLEU", exact=True).click()
        page.wait_for_url("**sort=score%3ABLEU**")
        names = page.locator("a.run-link").all_inner_texts()
        assert names[:3] == ["strong", "spanned", "weak"]
        shot("runs")
        page.fill("input[name=q]", "weak")
        page.click("#filters button[type=submit]")
        page.wait_for_url("**q=weak**")
        assert page.locator("a.run-link").all_inner_texts() == ["weak"]
        page.click("a.run-link")
        page.wait_for_url("**/run/0/runs/weak")
        assert page.locator("#scores").is_visible()
        shot("run")
        page.goto(url + "?sort=score:BLEU")
        page.check('input[name=run][value="0/runs/strong"]')
        page.check('input[name=run][value="0/runs/weak"]')
        page.click("#compare-button")
        page.wait_for_url("**/compare?**")
        assert page.locator("#direction-forward").is_visible()
        assert page.locator("#direction-round_trip").is_visible()
        shot("compare")
        page.locator("#direction-forward a", has_text="segments vs").first.click()
        page.wait_for_url("**/segments?**")
        assert page.locator("article.segment").count() > 0
        page.fill("input[name=q]", "umbrella")
        page.click("#segment-filters button[type=submit]")
        page.wait_for_url("**q=umbrella**")
        assert "umbrella" in page.locator("article.segment").first.inner_text().lower()
        page.fill("input[name=q]", "")
        page.fill("input[name=dmax]", "-10")
        page.click("#segment-filters button[type=submit]")
        page.wait_for_url("**dmax=-10**")
        for delta in page.locator(".segment .head .delta").all_inner_texts():
            assert float(delta.split()[-1]) <= -10
        shot("segments")
        page.goto(url + "segments?run=0/runs/spanned")
        mark = page.locator("mark.span.major").first
        assert mark.is_visible()
        shot("spans")
        browser.close()
    for path in shots:
        assert path.stat().st_size > 10_000  # a real picture, not a blank page
    if os.environ.get("MTHARNESS_DOC_IMAGES") == "1":
        DOC_IMAGES.mkdir(exist_ok=True)
        for path in shots:
            shutil.copyfile(path, DOC_IMAGES / path.name)


@pytest.mark.apertium
@pytest.mark.skipif(not apertium_has("eng-spa"), reason="Apertium eng-spa not installed")
def test_an_apertium_run_beside_file_runs_in_chromium(serve_results: Path, tmp_path: Path) -> None:
    """A results dir with a real Apertium run (round trip) beside the translator=files runs: it is
    listed under its translator, and its segments page shows what Apertium wrote, round trip included."""
    results = tmp_path / "results"
    shutil.copytree(serve_results / "runs" / "strong", results / "runs" / "strong")
    proc = run_cli(
        [
            "run",
            "translator=apertium",
            "limit=12",
            "progress=false",
            f"results_dir={results}",
            f"hydra.run.dir={results / 'runs' / 'apertium'}",
        ],
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = [
        json.loads(line)
        for line in (results / "runs" / "apertium" / "segments.jsonl")
        .read_text(encoding="utf-8")
        .splitlines()
    ]
    first = rows[0]["forward"]
    with server([str(results), "--port", "0"]) as url, sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1000, "height": 700})
        page.goto(url + "?translator=apertium")
        page.wait_for_url("**translator=apertium**")
        assert page.locator("a.run-link").all_inner_texts() == ["apertium"]
        page.goto(url + "segments?run=0/runs/apertium")
        assert page.locator("article.segment").count() > 0
        assert first.split()[0] in page.locator("article.segment").first.inner_text()
        page.screenshot(path=str(tmp_path / "browse-apertium.png"))
        browser.close()
