"""translator=openai against a REAL OpenAI-compatible server: `transformers serve` on the tiny chat LM.

The server (`served`, tests/helpers/served_fixtures.py) is started once per session on a free
localhost port (about 20-30 s here) and serves the tiny Llama-style model built by
scripts/make_tiny_models.py; the tests skip with the reason when it cannot start (extra `serving`
missing, fixture missing).
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mtharness.translators.openai import OpenAITranslator
from tests.conftest import run_cli

pytestmark = pytest.mark.serve

SENTENCES = ["The house is red.", "I have a small dog.", "Where is the station?", "It rains today."]


def _translator(served: dict[str, str], **kw: object) -> OpenAITranslator:
    return OpenAITranslator(model=served["model"], base_url=served["base_url"], max_tokens=48, **kw)  # type: ignore[arg-type]


def test_chat_answers_are_real_and_independent_of_concurrency(served: dict[str, str]) -> None:
    eight = _translator(served, max_concurrency=8)
    one = _translator(served, max_concurrency=1)
    out8 = eight.translate(SENTENCES, "en", "es")
    out1 = one.translate(list(reversed(SENTENCES)), "en", "es")
    assert out8 == list(reversed(out1))  # a segment's answer never depends on its neighbours
    assert all(isinstance(o, str) and o.strip() for o in out8)
    # the tiny model was trained to copy: its (garbled) answers share words with their sources
    shared = [set(o.lower().split()) & set(s.lower().split()) for o, s in zip(out8, SENTENCES, strict=True)]
    assert sum(bool(words) for words in shared) >= 2, out8
    usage = eight.usage()
    assert usage["requests"] == 4 and usage["retries"] == 0
    assert usage["prompt_tokens"] > 4 * 10 and usage["completion_tokens"] > 0
    assert usage["answers_without_usage"] == 0


def test_completions_endpoint(served: dict[str, str]) -> None:
    t = _translator(served, endpoint="completions")
    out = t.translate(SENTENCES[:2], "en", "de")
    assert len(out) == 2 and all(isinstance(o, str) for o in out)
    assert t.usage()["completion_tokens"] > 0


def test_unknown_model_fails_with_the_servers_reason(served: dict[str, str]) -> None:
    from mtharness.translators.base import SegmentFailed

    t = OpenAITranslator(model="not-this-one", base_url=served["base_url"])
    with pytest.raises(SegmentFailed, match="HTTP 4"):
        t.translate(["x"], "en", "es")
    assert t.usage()["requests"] == 1  # a 4xx is not retried


def _run_args(served: dict[str, str], root: Path, name: str, cache: str) -> list[str]:
    return [
        "run",
        "translator=openai",
        f"translator.model={served['model']}",
        f"translator.base_url={served['base_url']}",
        "translator.max_tokens=48",
        "translator.price_per_1k_input=0.5",
        "translator.price_per_1k_output=1.5",
        "limit=24",  # one chunk: answers reach the cache as they arrive, not at the chunk's end
        "validity.langid.enabled=false",
        f"results_dir={root / 'results'}",
        f"cache.dir={root / cache}",
        f"hydra.run.dir={root / name}",
    ]


def _cached_rows(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM translations").fetchone()[0])
    except sqlite3.Error:
        return 0


@pytest.mark.slow
def test_kill_9_then_rerun_resumes_with_identical_outputs(served: dict[str, str], tmp_path: Path) -> None:
    full = run_cli(_run_args(served, tmp_path, "full", "cache_full"), cwd=tmp_path)
    assert full.returncode == 0, full.stderr
    scores = json.loads((tmp_path / "full" / "scores.json").read_text())
    usage = scores["usage"]
    assert 24 < usage["requests"] <= 48 and usage["prompt_tokens"] > 0  # 24 + 24, less repeated texts
    assert usage["cost_estimate"] == pytest.approx(
        usage["prompt_tokens"] / 1000 * 0.5 + usage["completion_tokens"] / 1000 * 1.5
    )
    assert set(scores["prompt"]["hash"]) == {"en-es", "es-en"}  # the rendered prompt, per direction
    assert scores["llm_cleanup"]["forward"]["segments"] == 24
    first = json.loads((tmp_path / "full" / "segments.jsonl").read_text().splitlines()[0])
    assert first["forward_raw"].strip() and "forward_cleanup" in first
    # the same run, killed with SIGKILL once part of it is in the cache
    db = tmp_path / "cache_killed" / "translations.sqlite"
    cmd = [sys.executable, "-m", "mtharness", *_run_args(served, tmp_path, "killed", "cache_killed")]
    victim = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while _cached_rows(db) < 8 and victim.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    kept = _cached_rows(db)
    assert victim.returncode == -signal.SIGKILL and 8 <= kept < usage["requests"], kept
    rerun = run_cli(_run_args(served, tmp_path, "rerun", "cache_killed"), cwd=tmp_path)
    assert rerun.returncode == 0, rerun.stderr
    again = json.loads((tmp_path / "rerun" / "scores.json").read_text())
    hits = (
        again["directions"]["forward"]["cache"]["hits"] + again["directions"]["round_trip"]["cache"]["hits"]
    )
    assert hits >= 8 and again["usage"]["requests"] == usage["requests"] - kept  # only what was missing
    rows = lambda run: (tmp_path / run / "segments.jsonl").read_text()  # noqa: E731
    assert rows("rerun") == rows("full")
    assert again["scores"] == scores["scores"]
