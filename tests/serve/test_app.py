"""`mtharness serve`'s pages through Starlette's TestClient over real runs: the numbers equal the
CLI's, the state is in the URL, and the probes (traversal, escaping, token, Host, methods, damaged
run) never reach a file outside the results folder or a 500."""

from __future__ import annotations

import html
import json
import re
import shutil
from pathlib import Path

import pytest

pytest.importorskip("starlette")
pytest.importorskip("jinja2")
from starlette.testclient import TestClient

from mtharness.cli import main as cli_main
from mtharness.serve.app import create_app
from tests.serve.app_fixtures import SCRIPT


@pytest.fixture(scope="module")
def results(serve_results: Path) -> Path:
    return serve_results


@pytest.fixture(scope="module")
def client(results: Path) -> TestClient:
    return TestClient(create_app([results]), base_url="http://127.0.0.1", raise_server_exceptions=False)


def shown_numbers(page: str) -> dict[tuple[str, str, str], tuple[str, str, str | None]]:
    """(direction, metric, system) -> (score, CI, rank) as the compare page prints them."""
    out = {}
    for section in page.split("<section")[1:]:
        label = re.search(r'data-direction="([^"]+)"', section).group(1)  # type: ignore[union-attr]
        for table in section.split('<table class="data metric"')[1:]:
            metric = html.unescape(re.search(r'data-metric="([^"]+)"', table).group(1))  # type: ignore[union-attr]
            for row in re.findall(r'<tr data-system="([^"]+)">(.*?)</tr>', table, re.S):
                system, body = html.unescape(row[0]), row[1]
                tds = [
                    html.unescape(re.sub(r"<[^>]+>", "", c)).strip()
                    for c in re.findall(r"<td[^>]*>(.*?)</td>", body, re.S)
                ]
                out[label, metric, system] = (tds[3], tds[4], tds[0] or None)
    return out


def test_run_page_shows_every_score_with_signature_and_the_files(client: TestClient, results: Path) -> None:
    page = client.get("/run/0/runs/strong")
    assert page.status_code == 200
    stored = json.loads((results / "runs" / "strong" / "scores.json").read_text())
    for direction, metrics in stored["scores"].items():
        for name, m in metrics.items():
            shown = f"{m['score']:.{m['precision']}f}"
            assert f'data-value="{m["score"]}">{shown}</td>' in page.text, (direction, name)
            assert html.escape(m["signature"]) in page.text
    for label in ("copy rate", "off-target rate", "cache hits", "load s", "Resolved config", "Versions"):
        assert label in page.text
    link = re.search(r'href="(/files/0/runs/strong/scores.json)"', page.text)
    assert link is not None
    served = client.get(link.group(1))
    assert served.status_code == 200 and served.json() == stored
    assert served.headers["content-type"].startswith("text/plain")


def test_compare_page_numbers_equal_compare_json(client: TestClient, results: Path, tmp_path: Path) -> None:
    runs = [str(results / "runs" / n) for n in ("strong", "weak")]
    out = tmp_path / "cmp.json"
    assert cli_main(["compare", *runs, "--json", str(out), "--quiet"]) == 0
    cli = json.loads(out.read_text())
    query = "/compare?run=0/runs/strong&run=0/runs/weak"
    served = client.get(query + "&format=json").json()
    for doc in (cli, served):
        doc.pop("created")
        doc["inputs"].pop("runs")
    assert served == cli
    page = client.get(query).text
    expected = {}
    for label, block in cli["directions"].items():
        for name, m in block["metrics"].items():
            for system, row in m["systems"].items():
                p = m["precision"]
                ci = f"{row['ci']['low']:.{p}f}–{row['ci']['high']:.{p}f}"
                expected[label, name, system] = (f"{row['score']:.{p}f}", ci, row.get("rank"))
    assert shown_numbers(page) == expected
    assert "Forward: the translations against the references" in page
    assert "Round trip: the source against the text translated there and back" in page


def test_compare_options_live_in_the_url(client: TestClient) -> None:
    query = "/compare?run=0/runs/strong&run=0/runs/weak&metric=ter&paired=none&direction=forward"
    page = client.get(query)
    assert page.status_code == 200
    text = page.text
    assert 'data-metric="TER"' in text and 'data-metric="BLEU"' not in text
    assert 'id="direction-round_trip"' not in text
    assert "<option selected>none</option>" in text and 'value="ter"' in text
    doc = client.get(query + "&format=json").json()
    assert doc["paired"]["method"] is None and list(doc["directions"]) == ["forward"]


@pytest.mark.parametrize(
    "query",
    [
        "/compare?run=0/runs/strong",
        "/compare?run=0/runs/strong&run=0/runs/weak&alpha=2",
        "/compare?run=0/runs/strong&run=0/runs/weak&metric=nosuch",
    ],
)
def test_bad_compare_input_is_one_line_not_a_500(client: TestClient, query: str) -> None:
    page = client.get(query)
    assert page.status_code == 400
    assert 'id="error-message"' in page.text


def test_human_scores_need_the_forward_comparison(client: TestClient) -> None:
    query = "/compare?run=0/runs/strong&run=0/runs/weak&direction=round_trip&human=0/runs/strong/scores.json"
    page = client.get(query)
    assert page.status_code == 400
    assert "?human: needs a forward comparison" in html.unescape(page.text)


def test_markup_in_outputs_and_config_is_shown_as_text(client: TestClient, results: Path) -> None:
    query = "/compare?run=0/runs/strong&run=0/runs/weak&format=json"
    assert client.get(query).status_code == 200
    page = client.get("/run/0/runs/weak").text
    assert "<script>alert" not in page and "<b>bold" not in page
    files = client.get("/files/0/runs/weak/hyp.es.txt")
    assert SCRIPT in files.text and files.headers["content-type"].startswith("text/plain")
    assert files.headers["x-content-type-options"] == "nosniff"


def test_traversal_probes_are_404(client: TestClient, results: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("not for the web")
    links = [results / "runs" / name for name in ("link_out", "dir_out", "link_in")]
    links[0].symlink_to(secret)
    links[1].symlink_to(tmp_path, target_is_directory=True)
    links[2].symlink_to(results / "runs" / "strong" / "scores.json")
    try:
        probe_files(client, results, secret)
    finally:
        for link in links:
            link.unlink()


def probe_files(client: TestClient, results: Path, secret: Path) -> None:
    assert client.get("/files/0/runs/link_in").status_code == 200  # a symlink inside is fine
    probes = [
        "/files/0/../secret.txt",
        "/files/0/runs/%2e%2e/%2e%2e/secret.txt",
        "/files/0/runs/%252e%252e/%252e%252e/secret.txt",
        "/files/0/%2F" + str(secret).lstrip("/"),
        "/files/0//" + str(secret).lstrip("/"),
        "/files/0/runs/link_out",
        "/files/0/runs/dir_out/secret.txt",
        "/files/0/runs\\..\\..\\secret.txt",
        "/files/1/runs/strong/scores.json",
        "/files/0/runs",
        "/run/0/runs/..%2f..%2f",
        "/run/0/runs/dir_out",
        "/run/" + str(results / "runs" / "strong"),
    ]
    for probe in probes:
        response = client.get(probe)
        assert response.status_code == 404, probe
        assert "not for the web" not in response.text


def test_read_only_methods_and_security_headers(client: TestClient) -> None:
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        assert client.request(method, "/").status_code == 405
        assert client.request(method, "/files/0/runs/strong/scores.json").status_code == 405
    page = client.get("/run/0/runs/strong")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["referrer-policy"] == "no-referrer"


def test_a_foreign_host_header_is_refused_without_a_token(results: Path) -> None:
    app = create_app([results])
    assert TestClient(app, base_url="http://evil.example").get("/run/0/runs/strong").status_code == 400
    assert TestClient(app, base_url="http://localhost:8765").get("/run/0/runs/strong").status_code == 200


def test_token_on_every_request(results: Path) -> None:
    app = create_app([results], token="s3cret-token", host="0.0.0.0")
    anon = TestClient(app, base_url="http://10.1.2.3:8765")
    for path in ("/run/0/runs/strong", "/static/style.css", "/files/0/runs/strong/scores.json"):
        assert anon.get(path).status_code == 401, path
    assert anon.get("/run/0/runs/strong?token=wrong").status_code == 401
    assert anon.get("/run/0/runs/strong", headers={"Authorization": "Bearer s3cret-token"}).status_code == 200
    assert anon.get("/run/0/runs/strong", headers={"X-Mtharness-Token": "s3cret-token"}).status_code == 200
    browser = TestClient(app, base_url="http://10.1.2.3:8765")
    first = browser.get("/run/0/runs/strong?token=s3cret-token")
    assert first.status_code == 200 and "HttpOnly" in first.headers["set-cookie"]
    assert browser.get("/files/0/runs/strong/scores.json").status_code == 200  # the cookie now
    assert "token=" not in first.text  # links never carry it


def test_damaged_run_is_its_readers_one_line(client: TestClient) -> None:
    page = client.get("/run/0/runs/damaged")
    assert page.status_code == 200
    reason = re.search(r'id="damaged-reason">(.*?)</p>', page.text, re.S)
    assert reason is not None and "not valid JSON" in html.unescape(reason.group(1))
    compare = client.get("/compare?run=0/runs/strong&run=0/runs/damaged")
    assert compare.status_code == 400 and "not valid JSON" in html.unescape(compare.text)


def test_run_page_cis_equal_the_leaderboards(client: TestClient, results: Path, tmp_path: Path) -> None:
    """The Run page computes CIs with the leaderboard's own code (1000 resamples, the run's seed):
    the bounds it prints are the leaderboard JSON's, at the metric's precision."""
    out = tmp_path / "board"
    out.mkdir()
    # the leaderboard of a copy: its CI cache must not land in the shared results folder
    copy = tmp_path / "results" / "runs" / "strong"
    shutil.copytree(results / "runs" / "strong", copy)
    args = ["leaderboard", str(tmp_path / "results"), "--out", str(out), "--json", str(out / "b.json")]
    assert cli_main([*args, "--ci-n", "1000"]) == 0
    board = json.loads((out / "b.json").read_text(encoding="utf-8"))
    (row,) = [r for g in board["groups"] for r in g["runs"]]
    stored = json.loads((results / "runs" / "strong" / "scores.json").read_text())
    page = client.get("/run/0/runs/strong").text
    checked = 0
    for direction, per in row["ci"].items():
        for name, ci in per.items():
            p = stored["scores"][direction][name]["precision"]
            assert f"{ci['low']:.{p}f} – {ci['high']:.{p}f}" in page, (direction, name)
            checked += 1
    assert checked >= 4  # BLEU and chrF at least, forward and round trip
