"""The Runs and Segments pages through Starlette's TestClient over real runs: sort, filter, fold and
paging from the URL; segments paged server-side, searched, filtered by score difference, spans
marked, markup in an output shown as text; a damaged folder listed with its reason."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest

pytest.importorskip("starlette")
from starlette.testclient import TestClient

from mtharness.serve.app import create_app
from tests.serve.app_fixtures import SCRIPT


@pytest.fixture(scope="module")
def client(serve_results: Path) -> TestClient:
    return TestClient(create_app([serve_results]), base_url="http://127.0.0.1", raise_server_exceptions=False)


def listed(page: str) -> list[str]:
    return re.findall(r'<tr(?: class="damaged")? data-run="([^"]+)"', page)


def stored(results: Path, run: str) -> dict:
    return json.loads((results / "runs" / run / "scores.json").read_text())


def test_runs_page_sorts_by_a_metric_both_ways(client: TestClient, serve_results: Path) -> None:
    ok = ["0/runs/strong", "0/runs/weak", "0/runs/spanned"]
    bleu = {r: stored(serve_results, r.split("/")[-1])["scores"]["forward"]["BLEU"]["score"] for r in ok}
    best_first = sorted(ok, key=lambda r: -bleu[r])
    page = client.get("/?sort=score:BLEU")
    assert page.status_code == 200
    assert [r for r in listed(page.text) if r in ok] == best_first
    assert listed(page.text)[-1] == "0/runs/damaged"  # no score: last either way
    reverse = client.get("/?sort=score:BLEU&desc=0").text
    assert [r for r in listed(reverse) if r in ok] == best_first[::-1]
    # the header link of the active column reverses it and keeps the other state
    link = re.search(r'href="([^"]*sort=score%3ABLEU[^"]*)"', client.get("/?sort=score:BLEU&q=e").text)
    assert link is not None and "desc=0" in html.unescape(link.group(1)) and "q=e" in link.group(1)


def test_runs_page_filters_text_and_translator_and_pages(client: TestClient) -> None:
    assert listed(client.get("/?q=strong").text) == ["0/runs/strong"]
    assert listed(client.get("/?translator=weak").text) == ["0/runs/weak"]
    assert listed(client.get("/?status=damaged").text) == ["0/runs/damaged"]
    assert listed(client.get("/?from=2999-01-01").text) == []
    first, second = client.get("/?per=2&sort=run_id").text, client.get("/?per=2&sort=run_id&page=2").text
    assert len(listed(first)) == 2 and len(listed(second)) == 2
    assert not set(listed(first)) & set(listed(second))
    assert 'id="next"' in first and "page=2" in first and "page 2 of 2" in second


def test_damaged_folder_is_listed_with_the_readers_reason(client: TestClient) -> None:
    page = client.get("/?status=damaged").text
    row = re.search(r'<tr class="damaged" data-run="0/runs/damaged">(.*?)</tr>', page, re.S)
    assert row is not None
    reason = html.unescape(re.sub(r"<[^>]+>", "", row.group(1)))
    assert "damaged:" in reason and "scores.json" in reason and "not valid JSON" in reason


def test_runs_page_ticks_go_to_compare(client: TestClient) -> None:
    page = client.get("/").text
    form = re.search(r'<form method="get" action="/compare" id="compare-form">(.*?)</form>', page, re.S)
    assert form is not None
    boxes = re.findall(r'<input type="checkbox" name="run" value="([^"]+)"', form.group(1))
    assert set(boxes) == {"0/runs/strong", "0/runs/weak", "0/runs/spanned"}  # a damaged run has none


def segment_indices(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'<article class="segment" id="seg-\d+" data-index="(\d+)"', page)]


def test_segments_page_pages_server_side(client: TestClient) -> None:
    first = client.get("/segments?run=0/runs/strong&per=10").text
    assert segment_indices(first) == list(range(10))
    assert "10 of" not in first and "150 of 150 segments match" in first
    third = client.get("/segments?run=0/runs/strong&per=10&page=3").text
    assert segment_indices(third) == list(range(20, 30))


def test_segment_search_and_score_difference(client: TestClient, serve_results: Path) -> None:
    found = client.get("/segments?run=0/runs/strong&q=umbrella").text
    rows = [json.loads(line) for line in (serve_results / "runs" / "strong" / "segments.jsonl").open()]
    expected = [i for i, r in enumerate(rows) if "umbrella" in r["source"].lower()]
    assert expected and segment_indices(found) == expected
    weak = [json.loads(line) for line in (serve_results / "runs" / "weak" / "segments.jsonl").open()]
    diff = {
        i: a["scores"]["forward"]["chrF2"] - b["scores"]["forward"]["chrF2"]
        for i, (a, b) in enumerate(zip(rows, weak, strict=True))
    }
    query = "/segments?run=0/runs/strong&vs=0/runs/weak&metric=chrF2&dmin=10&sort=diff&desc=1&per=500"
    page = client.get(query).text
    wanted = sorted((i for i, d in diff.items() if d >= 10), key=lambda i: (-diff[i], i))
    assert wanted and segment_indices(page) == wanted
    assert '<del class="diff">' in page or '<ins class="diff">' in page


def test_spans_are_marked_and_markup_is_text(client: TestClient) -> None:
    page = client.get("/segments?run=0/runs/spanned&per=4").text
    marks = re.findall(r'<mark class="span major" title="([^"]*)">([^<]*)</mark>', page)
    assert len(marks) == 2 and all(t.startswith("xCOMET: major") for t, _ in marks)
    weak = client.get("/segments?run=0/runs/weak&per=3").text
    assert SCRIPT not in weak and "<b>bold" not in weak
    shown = re.search(
        r'<div class="col translation">.*?</span>(.*?)</div>', weak.split('id="seg-1"')[1], re.S
    )
    assert shown is not None and html.unescape(shown.group(1)) == f"{SCRIPT} & <b>bold</b>"


@pytest.mark.parametrize(
    "query",
    [
        "/segments",
        "/segments?run=0/runs/strong&metric=nosuch",
        "/segments?run=0/runs/strong&dmin=1",
        "/segments?run=0/runs/strong&page=zero",
        "/segments?run=0/runs/damaged",
    ],
)
def test_bad_segment_queries_are_one_line(client: TestClient, query: str) -> None:
    page = client.get(query)
    assert page.status_code == 400, page.text[-500:]
    assert 'id="error-message"' in page.text


def test_segments_of_a_run_outside_are_404(client: TestClient) -> None:
    assert client.get("/segments?run=0/../x").status_code == 404
    assert client.get("/segments?run=0/runs/strong&vs=0/../../etc").status_code == 404
