"""10,000 run folders (variations of a real run's scores.json, made by scripts/bench_serve.py's own
builder) listed by the app: the index is built once, refreshed incrementally, and the runs page
counts, folds and pages them (scripts/bench_serve.py measures the times; this checks the results)."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

pytest.importorskip("starlette")
from starlette.testclient import TestClient

from mtharness.serve.app import create_app
from mtharness.serve.index import RunIndex
from tests.conftest import REPO

N = 10_000


def _bench_serve():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("bench_serve", REPO / "scripts" / "bench_serve.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_ten_thousand_runs_are_indexed_listed_folded_and_paged(serve_results: Path, tmp_path: Path) -> None:
    root = tmp_path / "results"
    _bench_serve().synthetic_runs(serve_results / "runs" / "strong", root, N)
    first = RunIndex([root]).refresh()
    assert first.added == N and first.damaged == 0
    again = RunIndex([root]).refresh()  # nothing changed: nothing re-read
    assert (again.added, again.updated, again.removed) == (0, 0, 0)

    client = TestClient(create_app([root]), base_url="http://127.0.0.1", raise_server_exceptions=False)
    every = client.get("/?all=1")
    assert every.status_code == 200
    total = re.search(r'id="runs-total">(\d+) runs<', every.text)
    assert total is not None and int(total.group(1)) == N
    folded = client.get("/")
    systems = re.search(r'id="runs-total">(\d+) systems?<', folded.text)
    assert systems is not None and 1 < int(systems.group(1)) < N  # older runs of an identity folded
    pages = [client.get(f"/?all=1&sort=score:BLEU&page={n}") for n in (1, 2)]
    links = [set(re.findall(r'href="(/run/[^"]+)"', p.text)) for p in pages]
    assert all(p.status_code == 200 for p in pages)
    assert links[0] and links[1] and not links[0] & links[1]  # server-side pages: other runs on page 2
