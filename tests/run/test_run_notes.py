"""What every run summary says beside the numbers: a forward direction without references, a way
back that is not the system (gloss fallback), and a served model's requests, retries and cost."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_cli
from tests.helpers.openai_fault_server import FaultServer


def _run(args: list[str], tmp_path: Path, name: str):  # type: ignore[no-untyped-def]
    proc = run_cli(
        [
            "run",
            *args,
            "progress=false",
            f"cache.dir={tmp_path / 'cache'}",
            f"hydra.run.dir={tmp_path / name}",
        ],
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc, (tmp_path / name / "summary.md").read_text(encoding="utf-8")


def test_missing_references_say_so_where_the_number_would_be(tmp_path: Path) -> None:
    proc, summary = _run(["translator=echo", "dataset.tgt_lang=de", "limit=10"], tmp_path, "de")
    forward = next(line for line in proc.stdout.splitlines() if line.strip().startswith("forward"))
    assert "not scored: sample has no references in de" in forward
    assert (
        "There are no forward scores" in proc.stdout
        and "compare the translation with human" not in proc.stdout
    )
    assert "forward: not scored: sample has no references in de" in summary
    assert "There are no forward scores" in summary
    _assert_in_report_and_leaderboard(tmp_path, "de", "de")
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "not scored: sample has no references in de" in html and "There are no forward scores" in html
    assert "copy rate: 1.000" in html  # the header prints rates as the tables do, never 0.006667
    # with references the usual words stay
    proc, _ = _run(["translator=echo", "limit=10"], tmp_path, "es")
    assert "not scored" not in proc.stdout and "compare the translation with human" in proc.stdout


def test_document_mode_without_references(tmp_path: Path) -> None:
    proc, summary = _run(
        ["translator=echo", "dataset=article", "validity.langid.enabled=false"], tmp_path, "doc"
    )
    assert "not scored: article has no references in es" in proc.stdout
    assert "not scored: article has no references in es" in summary


def test_gloss_way_back_is_named(tmp_path: Path, wmt23: Path) -> None:
    de = wmt23 / "en-de"
    args = [
        "dataset=wmt", f"dataset.path={de}", "translator=files_gloss", "translator.name=ONLINE-A",
        f"translator.forward={de / 'systems' / 'ONLINE-A.de'}", f"translator.source={de / 'src.en'}",
        "limit=20", "metrics=[chrf]",
    ]  # fmt: skip
    proc, summary = _run(args, tmp_path, "gloss")
    assert "way back   the way back is gloss (a word-for-word gloss" in proc.stdout
    assert "round trip: the way back is gloss" in summary
    _assert_in_report_and_leaderboard(tmp_path, "gloss", "the way back is gloss (a word-for-word gloss")


def test_usage_requests_retries_and_cost_in_terminal_and_summary(tmp_path: Path) -> None:
    with FaultServer(slow_s=2.0) as server:
        args = [
            "translator=openai", "translator.model=tiny", f"translator.base_url={server.base_url}",
            "translator.price_per_1k_input=0.15", "translator.price_per_1k_output=0.6",
            "limit=6", "validity.langid.enabled=false", "metrics=[chrf]",
        ]  # fmt: skip
        proc, summary = _run(args, tmp_path, "served")
    usage = json.loads((tmp_path / "served" / "scores.json").read_text())["usage"]
    line = next(line for line in proc.stdout.splitlines() if line.strip().startswith("usage"))
    assert f"{usage['requests']} requests, {usage['retries']} retries" in line
    assert f"{usage['prompt_tokens']:,} prompt + {usage['completion_tokens']:,} completion tokens" in line
    assert f"cost ≈ {usage['cost_estimate']:.4f}" in line
    assert usage["requests"] == 12  # 6 segments there and 6 back, no retries on a healthy server
    assert f"usage: {usage['requests']} requests" in summary
    _assert_in_report_and_leaderboard(tmp_path, "served", f"{usage['requests']} requests, 0 retries")


def _assert_in_report_and_leaderboard(tmp_path: Path, name: str, text: str) -> None:
    report = run_cli(
        ["report", str(tmp_path / name), "--ci-n", "10", "--out", str(tmp_path / "r.html")], tmp_path
    )
    assert report.returncode == 0, report.stderr[-2000:]
    assert text in (tmp_path / "r.html").read_text(encoding="utf-8")
    board = run_cli(
        ["leaderboard", str(tmp_path / name), "--ci-n", "0", "--out", str(tmp_path / "lb")], tmp_path
    )
    assert board.returncode == 0, board.stderr[-2000:]
    assert text in (tmp_path / "lb" / "leaderboard.md").read_text(encoding="utf-8")
