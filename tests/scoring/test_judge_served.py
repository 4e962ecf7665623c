"""LLM judges against a REAL OpenAI-compatible server: `transformers serve` on the tiny chat LM.

The tiny model was trained to copy, so its answers to our judge prompts are mostly neither MQM
layout nor a score: they must be counted as judge failures, never crash the run or be scored 0.
The server is the session fixture `served` (tests/helpers/served_fixtures.py).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from mtharness.scoring import registry
from tests.conftest import run_cli

pytestmark = pytest.mark.serve


@pytest.mark.parametrize("kind", ["llm_mqm", "llm_da"])
def test_unparseable_answers_are_counted_not_crashed(served: dict[str, str], kind: str) -> None:
    args = {"base_url": served["base_url"], "model": served["model"], "max_tokens": 24, "max_retries": 1}
    metric = registry.get(kind)
    metric.check_ready(args)  # the real server passes the up-front check
    scorer = metric.open(args, None)
    scorer.set_direction("forward", "en", "es")  # type: ignore[attr-defined]
    sources = ["The house is red.", "I have a small dog.", "Where is the station?"]
    hyps = ["La casa es roja.", "Tengo un perro pequeño.", "¿Dónde está la estación?"]
    result, segs = scorer.score(sources, hyps, None)
    failures = result.extra["judge_failures"]
    assert failures == sum(math.isnan(s) for s in segs) and len(segs) == 3
    parsed = [s for s in segs if not math.isnan(s)]
    assert (math.isnan(result.score) and not parsed) or result.score == pytest.approx(
        sum(parsed) / len(parsed)
    )
    usage = scorer.report()["judges"][result.name]["usage"]
    assert usage["requests"] == 3 and usage["prompt_tokens"] > 3 * 100 and usage["completion_tokens"] > 0
    scorer.close()


def test_a_run_judged_by_the_tiny_model_completes(served: dict[str, str], tmp_path: Path) -> None:
    proc = run_cli(
        [
            "run",
            "translator=echo",
            "metrics=[bleu,llm_mqm]",
            f"metrics.llm_mqm.base_url={served['base_url']}",
            f"metrics.llm_mqm.model={served['model']}",
            "metrics.llm_mqm.max_tokens=24",
            "limit=4",
            "validity.langid.enabled=false",
            f"results_dir={tmp_path / 'results'}",
            f"cache.dir={tmp_path / 'cache'}",
            f"hydra.run.dir={tmp_path / 'run'}",
        ],
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    scores = json.loads((tmp_path / "run" / "scores.json").read_text(encoding="utf-8"))
    counts = scores["judges"]["LLM-MQM"]["directions"]["forward"]
    assert counts["segments"] == 4
    rows = [json.loads(line) for line in (tmp_path / "run" / "segments.jsonl").read_text().splitlines()]
    missing = sum(r["scores"]["forward"]["LLM-MQM"] is None for r in rows)
    assert counts["judge_failures"] == missing  # each unparseable answer counted, its segment null
    if missing > 0:  # above 5%: the summary says so
        assert "judge answers could not be parsed" in (tmp_path / "run" / "summary.md").read_text()
    if missing == 4:
        assert "LLM-MQM" not in scores["scores"]["forward"]  # no score rather than a made-up one
