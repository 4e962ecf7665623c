"""Error spans as a person sees them: the compare and report pages opened in headless Chromium (driven by
Playwright, Debian's /usr/bin/chromium), the marks visible in their severity's colour with tooltips,
and a ``<script>`` inside a segment and inside a span shown as text, never run."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mtharness.cli import main as cli_main
from tests.helpers.spans import INJECTED, sample_span_runs

sync_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="no chromium (apt-get install -y chromium)"
)

# the template's colours, as Chromium computes them
COLOURS = {"minor": "rgb(255, 243, 176)", "major": "rgb(255, 201, 138)", "critical": "rgb(255, 157, 157)"}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("span_pages")
    runs = sample_span_runs(root)
    compare_html, report_html = root / "compare.html", root / "report.html"
    argv = [
        "compare",
        str(runs["A"]),
        str(runs["B"]),
        "--metrics",
        "chrf",
        "--ci-n",
        "50",
        "--paired-n",
        "50",
    ]
    assert cli_main([*argv, "--html", str(compare_html), "--quiet"]) == 0
    assert (
        cli_main(["report", str(runs["B"]), "--out", str(report_html), "--metrics", "chrf", "--ci-n", "50"])
        == 0
    )
    return {"compare": compare_html, "report": report_html}


def _open(browser: Any, html: Path) -> Any:
    page = browser.new_page(viewport={"width": 1300, "height": 900})
    page.goto(html.resolve().as_uri())
    page.wait_for_load_state("load")
    assert page.evaluate("window.__spanInjected") is None  # the segment's <script> never ran
    page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")
    return page


@pytest.mark.parametrize("which", ["compare", "report"])
def test_spans_are_visible_in_their_colours_and_markup_stays_text(
    browser: Any, pages: dict[str, Path], which: str
) -> None:
    page = _open(browser, pages[which])
    browser_table = page.locator("[id^=browser-] table.segments").first
    for severity in ("major", "critical"):
        marks = browser_table.locator(f"mark.err-{severity}")
        assert marks.count() >= 1, severity
        first = marks.first
        first.scroll_into_view_if_needed()
        assert first.is_visible()
        assert first.evaluate("e => getComputedStyle(e).backgroundColor") == COLOURS[severity]
    critical = browser_table.locator("mark.err-critical").first
    assert critical.inner_text() == INJECTED  # the span's markup shown as its characters
    title = critical.get_attribute("title") or ""
    assert title.startswith("critical error · uncategorised · confidence 0.95 · metric xCOMET")
    assert page.locator("script").count() == 1  # the page's own filter script, no other
    legend = page.locator("p.legend").first
    assert legend.is_visible() and "critical" in legend.inner_text()
    assert page.evaluate("window.__spanInjected") is None
    page.close()


def test_compare_page_has_the_mqm_table_and_the_differing_segments(
    browser: Any, pages: dict[str, Path]
) -> None:
    page = _open(browser, pages["compare"])
    table = page.locator("table.mqm").first
    assert table.is_visible()
    rows = [r.inner_text() for r in table.locator("tr.mqm-all").all()]
    assert len(rows) == 2 and rows[1].split("\t")[:2] == ["sysB", "all"]
    summary = page.locator("summary", has_text="Where sysB and sysA differ most in xCOMET errors")
    assert summary.count() == 1
    group = summary.locator("xpath=..")
    first_line = group.locator("table.segments tbody tr td.num").first.inner_text()
    assert first_line == "3"  # the segment with the critical span differs most
    assert group.locator("mark.err-critical").first.is_visible()
    page.close()
