"""Issue 26 (3): a credential typed into an override is never written or echoed (sentinel grep)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_cli

QUIET = ["translator=echo", "limit=3", "progress=false", "validity.langid.enabled=false"]
SK = "sk-SENTINELx9Qw3Er5Ty7Ui9Op1As3Df5"
HEX = "0123456789abcdef0123456789abcdef01234567"  # 40 hex digits, like a GitHub or HF token


def _leaks(root: Path, secret: str) -> list[str]:
    return [str(p) for p in root.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()]


@pytest.mark.parametrize("secret", [SK, HEX])
def test_key_pasted_as_variable_name_is_refused_unshown_unwritten(tmp_path: Path, secret: str) -> None:
    done = run_cli(
        [
            "run",
            "translator=openai",
            "translator.model=m",
            f"translator.api_key_env={secret}",
            "hydra.run.dir=run",
        ],
        tmp_path,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "looks like a key itself (not shown)" in lines[0], done.stderr
    assert secret not in done.stderr + done.stdout
    assert not (tmp_path / "run").exists()
    assert _leaks(tmp_path, secret) == []


def test_credential_in_any_other_override_is_masked_everywhere(tmp_path: Path) -> None:
    done = run_cli(
        ["run", *QUIET, f"+notes=token {SK} and {HEX}", "hydra.run.dir=run", "cache.dir=cache"],
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert SK not in done.stdout + done.stderr and HEX not in done.stdout + done.stderr
    run = tmp_path / "run"
    assert (run / "scores.json").is_file() and (run / ".hydra" / "overrides.yaml").is_file()
    assert "+notes=token *** and ***" in (run / ".hydra" / "overrides.yaml").read_text()
    assert _leaks(tmp_path, SK) == [] and _leaks(tmp_path, HEX) == []  # run folder, cache, run.log


def test_bad_override_error_line_masks_the_credential(tmp_path: Path) -> None:
    done = run_cli(["run", *QUIET, f"limit={SK}", "hydra.run.dir=run"], tmp_path)
    assert done.returncode == 2
    assert SK not in done.stderr and "***" in done.stderr
    assert _leaks(tmp_path, SK) == []


def test_a_key_in_the_base_url_is_not_in_the_identity() -> None:
    from mtharness.translators.openai import OpenAITranslator

    t = OpenAITranslator(model="m", base_url=f"https://user:{SK}@example.org/v1?key={HEX}")
    shown = str(t.identity())
    assert SK not in shown and HEX not in shown and "https://user:***@example.org/v1?key=***" in shown
