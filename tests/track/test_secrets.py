"""Secret-named keys are redacted and their values scrubbed from every text a tracker gets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mtharness.track.content import flatten, metric_name, safe_artifacts, what_to_log
from mtharness.track.secrets import REDACTED, is_secret_key, redact, scrub


@pytest.mark.parametrize(
    "key", ["api_key", "WANDB_API_KEY", "token", "hf_token", "password", "clientSecret", "access_key", "auth"]
)
def test_secret_names(key: str) -> None:
    assert is_secret_key(key)


@pytest.mark.parametrize(
    "key", ["max_new_tokens", "api_key_env", "tokenize", "name", "key", "max_input_tokens", "model"]
)
def test_ordinary_names(key: str) -> None:
    assert not is_secret_key(key)


def test_redact_nested_config_and_collect_values() -> None:
    found: set[str] = set()
    config = {
        "translator": {
            "name": "x",
            "env": {"MY_TOKEN": "abcdef123"},
            "base_url": "https://u:pw12345@host/v1",
        },
        "tracker": {"password": "hunter22"},
        "limit": 5,
    }
    out = redact(config, found)
    assert out["translator"]["env"]["MY_TOKEN"] == REDACTED and out["tracker"]["password"] == REDACTED
    assert out["translator"]["base_url"] == f"https://{REDACTED}@host/v1"
    assert out["limit"] == 5 and out["translator"]["name"] == "x"
    assert found == {"abcdef123", "hunter22"}
    assert scrub("copied abcdef123 here", found) == f"copied {REDACTED} here"


def test_names_and_flattening() -> None:
    assert metric_name("forward", "chrF2++") == "forward.chrF2pp"
    assert flatten({"a": {"b": 1, "c": None, "d": [1, 2], "e": {}}, "f": "x"}) == {
        "a.b": "1",
        "a.c": "null",
        "a.d": "[1, 2]",
        "a.e": "{}",
        "f": "x",
    }


def test_artifacts_of_a_run_with_a_secret_are_redacted_copies(tmp_path: Path) -> None:
    """A run folder whose config holds a token: scores.json goes out redacted, other files as they are."""
    run = tmp_path / "run"
    run.mkdir()
    doc = {
        "schema_version": 1,
        "created": "2026-12-04T00:00:00+00:00",
        "dataset": {"name": "d", "pair": "en-es", "src_lang": "en", "tgt_lang": "es",
                    "content_hash": "h" * 64, "references": ["A"]},
        "translator": {"name": "echo", "backend": "echo"},
        "n_segments": 1,
        "scores": {"forward": {"BLEU": {"score": 1.5, "signature": "s", "higher_is_better": True}}},
        "copy_rate": 1.0,
        "timings": {"forward_s": 0.5},
        "usage": {"prompt_tokens": 12, "cost_estimate": 0.002, "model": "m"},
        "config": {"tracker": {"name": "mlflow", "token": "tok-secret-123"}, "seed": 1},
    }  # fmt: skip
    (run / "scores.json").write_text(json.dumps(doc))
    row = {
        "id": "1",
        "source": "a",
        "references": ["b"],
        "forward": "a",
        "scores": {"forward": {"BLEU": 1.5}},
    }
    (run / "segments.jsonl").write_text(json.dumps(row) + "\n")
    (run / "summary.md").write_text("# run\n")
    logged = what_to_log(run, ci_n=0)
    assert logged.params["tracker.token"] == REDACTED and logged.params["seed"] == "1"
    assert logged.metrics == {
        "forward.BLEU": 1.5,
        "copy_rate": 1.0,
        "timings.forward_s": 0.5,
        "usage.prompt_tokens": 12.0,
        "usage.cost_estimate": 0.002,
    }
    assert logged.table_columns[-1] == "forward.BLEU" and logged.table_rows == [["1", "a", "b", "a", "", 1.5]]
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    files = {p.name: p for p in safe_artifacts(logged, scratch)}
    assert files["scores.json"].parent == scratch and files["summary.md"].parent == run
    assert "tok-secret-123" not in files["scores.json"].read_text()
    assert json.loads(files["scores.json"].read_text())["scores"] == doc["scores"]
