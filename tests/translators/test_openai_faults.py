"""translator=openai against a local fault-injecting server: retries, backoff, timeouts, failures, keys."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from mtharness.core import MtharnessError
from mtharness.run.cache import CachedTranslator
from mtharness.run.evaluate import translate_all
from mtharness.translators.base import SegmentFailed
from mtharness.translators.httpretry import retry_after_s
from mtharness.translators.openai import OpenAITranslator
from tests.conftest import compose, run_cli
from tests.helpers.openai_fault_server import FaultServer

SENTINEL = "sk-sentinel-0123456789abcdef-DO-NOT-LEAK"


@pytest.fixture
def server() -> Iterator[FaultServer]:
    with FaultServer(slow_s=2.0) as srv:
        yield srv


def make(server: FaultServer, **kw: object) -> OpenAITranslator:
    settings: dict[str, object] = {"backoff_s": 0.02, "max_retries": 3, "timeout_s": 5.0, **kw}
    return OpenAITranslator(model="tiny", base_url=server.base_url, **settings)  # type: ignore[arg-type]


def test_answers_in_order_with_settings_sent(server: FaultServer) -> None:
    server.delay_s = 0.02
    t = make(server, max_concurrency=4, seed=7)
    texts = [f"segment {i}" for i in range(40)]
    assert t.translate(texts, "en", "es") == [s.upper() for s in texts]
    body = server.requests[0]["body"]
    assert body["temperature"] == 0 and body["seed"] == 7 and body["model"] == "tiny"
    assert body["messages"][0]["role"] == "system" and "Spanish" in body["messages"][0]["content"]
    assert 2 <= server.max_in_flight <= 4  # concurrency used, and capped
    usage = t.usage()
    assert usage["requests"] == 40 and usage["retries"] == 0
    assert usage["prompt_tokens"] > 0 and usage["completion_tokens"] == 80
    assert "cost_estimate" not in usage
    assert t.identity()["seed"] == 7 and t.identity()["temperature"] == 0.0


def test_completions_endpoint(server: FaultServer) -> None:
    t = make(server, endpoint="completions", stop=["\n"], price_per_1k_input=1.0, price_per_1k_output=2.0)
    assert t.answer(["hola amigo"], "es", "en") == [" HOLA AMIGO"]  # the raw answer
    assert t.translate(["hola amigo"], "es", "en") == ["HOLA AMIGO"]  # cleaned
    req = server.requests[0]
    assert req["path"] == "/v1/completions" and req["body"]["stop"] == ["\n"]
    assert req["body"]["prompt"].endswith("Spanish: hola amigo\nEnglish:")
    usage = t.usage()
    assert usage["requests"] == 2
    expected = usage["prompt_tokens"] / 1000 * 1.0 + usage["completion_tokens"] / 1000 * 2.0
    assert usage["cost_estimate"] == pytest.approx(expected)


def test_429_honours_retry_after(server: FaultServer) -> None:
    t = make(server)
    start = time.monotonic()
    assert t.translate(["wait RATE2 please", "fine"], "en", "es") == ["WAIT RATE2 PLEASE", "FINE"]
    assert time.monotonic() - start >= 1.9  # two Retry-After: 1 waits, not the 0.02 s backoff
    assert t.usage()["retries"] == 2 and t.usage()["outcomes"]["HTTP 429"] == 2


def test_500_timeout_and_malformed_json_are_retried(server: FaultServer) -> None:
    # the client's timeout is far above a normal answer's time on a busy machine, and the SLOW
    # answer far above the timeout: exactly one request times out, however loaded the machine is
    server.slow_s = 20.0
    t = make(server, timeout_s=2.0)
    texts = ["a FIVEHUNDRED2", "b SLOW1", "c BADJSON1", "d"]
    assert t.translate(texts, "en", "es") == [s.upper() for s in texts]
    outcomes = t.usage()["outcomes"]
    assert outcomes["HTTP 500"] == 2 and outcomes["timed out"] == 1 and outcomes["malformed"] == 1
    assert t.usage()["retries"] == 4


def test_backoff_is_exponential_with_jitter(server: FaultServer) -> None:
    t = make(server, backoff_s=0.2, max_retries=3)
    start = time.monotonic()
    with pytest.raises(SegmentFailed):
        t.translate(["FIVEHUNDRED"], "en", "es")
    # waits 0.2*2^k*U(0.5,1) for k=0,1,2: between 0.7 and 1.4 s in all; the upper bound only has
    # to tell that from a backoff that ignores backoff_s (max_backoff_s is 60), with room for a busy machine
    assert 0.7 <= time.monotonic() - start < 30.0
    assert t.usage()["requests"] == 4


def test_fatal_status_is_not_retried(server: FaultServer) -> None:
    t = make(server)
    with pytest.raises(SegmentFailed, match="HTTP 401: invalid api key"):
        t.translate(["NOKEY"], "en", "es")
    assert t.usage()["requests"] == 1


def test_failure_keeps_finished_segments_in_the_cache(server: FaultServer, tmp_path: Path) -> None:
    server.delay_s = 0.05
    inner = make(server, max_concurrency=2, max_retries=1)
    cached = CachedTranslator(inner, tmp_path)
    texts = [f"ok {i}" for i in range(6)] + ["x FIVEHUNDRED"] + [f"late {i}" for i in range(20)]
    ids = [f"seg-{i}" for i in range(len(texts))]
    with pytest.raises(MtharnessError) as info:
        translate_all(cached, texts, "en", "es", chunk_size=100, progress=False, ids=ids)
    message = str(info.value)
    assert "segment seg-6 (en->es)" in message and "HTTP 500" in message and "\n" not in message
    server.requests.clear()
    cached2 = CachedTranslator(make(server), tmp_path)
    texts[6] = "x now fine"
    assert translate_all(cached2, texts, "en", "es", progress=False) == [s.upper() for s in texts]
    hits = cached2.cache_counts()["en-es"].hits
    assert hits >= 6  # everything answered before the failure was kept ...
    assert len(server.requests) == len(texts) - hits  # ... and not asked for again


def _committed_rows(db: Path) -> int:
    """Rows in the cache file's translations table (0 before the file or the table exists)."""
    import sqlite3

    if not db.exists():
        return 0
    try:
        with closing(sqlite3.connect(db, timeout=30)) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM translations").fetchone()[0])
    except sqlite3.OperationalError:  # the cache is creating its tables right now
        return 0


def test_answers_are_committed_while_a_chunk_is_still_running(server: FaultServer, tmp_path: Path) -> None:
    """The first segment's request is held open by the server until the test has seen answers in
    the cache file: the chunk is provably still running when they are committed (no timing)."""
    import threading

    cached = CachedTranslator(make(server, max_concurrency=2, timeout_s=300.0), tmp_path)
    texts = ["piece HOLD"] + [f"piece {i}" for i in range(39)]  # 39 answers: one flush of 32 by count
    outputs: list[list[str]] = []
    worker = threading.Thread(target=lambda: outputs.append(cached.translate(texts, "en", "es")))
    worker.start()
    db = tmp_path / "translations.sqlite"
    committed = 0
    deadline = time.monotonic() + 120  # a bound, not a timing assumption: fails loudly if nothing lands
    try:
        while committed == 0 and worker.is_alive() and time.monotonic() < deadline:
            committed = _committed_rows(db)
            if committed == 0:
                server.release.wait(0.05)  # poll interval (release is only set below)
    finally:
        server.release.set()
        worker.join()
    assert 0 < committed < len(texts), committed  # part of the chunk was in the cache before it ended
    assert outputs == [[t.upper() for t in texts]]
    assert _committed_rows(db) == len(texts)


def test_requests_per_minute_spaces_starts(server: FaultServer) -> None:
    t = make(server, requests_per_minute=600, max_concurrency=8)  # one start per 0.1 s
    start = time.monotonic()
    t.translate([f"s{i}" for i in range(6)], "en", "es")
    assert time.monotonic() - start >= 0.45


def test_retry_after_forms() -> None:
    assert retry_after_s("3") == 3.0
    assert retry_after_s("Wed, 02 Dec 2026 10:00:05 GMT", now=1796205600.0) == pytest.approx(5.0)
    assert retry_after_s("soon") is None and retry_after_s(None) is None


def test_bad_settings_are_one_line() -> None:
    with pytest.raises(MtharnessError, match="endpoint"):
        OpenAITranslator(model="m", endpoint="embeddings")
    with pytest.raises(MtharnessError, match="NAME of an environment variable"):
        OpenAITranslator(model="m", api_key_env="sk-proj-abcdefghijklmnopqrstuvwxyz")
    t = OpenAITranslator(model="m", api_key_env="MTH_UNSET_KEY_VAR")
    with pytest.raises(MtharnessError, match="MTH_UNSET_KEY_VAR=<your key>"):
        t.translate(["a"], "en", "es")


@pytest.mark.parametrize("name", ["openai", "vllm", "ollama", "gpt_4o_mini"])
def test_well_known_configs_compose_and_instantiate_offline(name: str) -> None:
    from hydra.utils import instantiate

    overrides = [f"translator={name}"] + (["translator.model=m"] if name == "openai" else [])
    cfg = compose(overrides)
    t = instantiate(cfg.translator, _convert_="all")
    assert isinstance(t, OpenAITranslator) and t.usage()["requests"] == 0
    assert t.seed == cfg.seed and t.temperature == 0.0
    if name == "gpt_4o_mini":
        assert t.api_key_env == "OPENAI_API_KEY" and t.base_url.startswith("https://api.openai.com")


def test_key_never_reaches_any_output(server: FaultServer, tmp_path: Path) -> None:
    env = {"MTH_TEST_KEY": SENTINEL}
    base = [
        "run",
        "translator=openai",
        "translator.model=tiny",
        f"translator.base_url={server.base_url}",
        "translator.api_key_env=MTH_TEST_KEY",
        "translator.backoff_s=0.01",
        "translator.max_retries=1",
        "limit=8",
        f"results_dir={tmp_path / 'results'}",
        f"cache.dir={tmp_path / 'cache'}",
    ]
    ok = run_cli([*base, f"hydra.run.dir={tmp_path / 'ok'}"], cwd=tmp_path, env=env)
    assert ok.returncode == 0, ok.stderr
    assert {r["headers"]["Authorization"] for r in server.requests} == {f"Bearer {SENTINEL}"}
    scores = json.loads((tmp_path / "ok" / "scores.json").read_text())
    assert (
        scores["usage"]["requests"] == 16 and scores["config"]["translator"]["api_key_env"] == "MTH_TEST_KEY"
    )
    # a failing run too: its error names the segment and status, never the key
    bad = run_cli(
        [*base, *_tsv(tmp_path), f"hydra.run.dir={tmp_path / 'bad'}"],
        cwd=tmp_path,
        env=env,
    )
    assert bad.returncode == 2
    assert "segment t2 (en->es) failed: HTTP 500" in bad.stderr.strip().splitlines()[-1]
    for output in (ok.stdout, ok.stderr, bad.stdout, bad.stderr):
        assert SENTINEL not in output
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name == "config.yaml" and ".hydra" in p.parts for p in files)
    assert any(p.suffix == ".sqlite" for p in files)
    for path in files:
        assert SENTINEL.encode() not in path.read_bytes(), path


def _tsv(tmp_path: Path) -> list[str]:
    path = tmp_path / "faulty.tsv"
    path.write_text("id\tsource\treference\nt1\tgood one\tx\nt2\tbad FIVEHUNDRED\ty\n", encoding="utf-8")
    return [
        "dataset=tsv",
        f"dataset.path={path}",
        "dataset.src_lang=en",
        "dataset.tgt_lang=es",
        "dataset.id_column=id",
    ]
