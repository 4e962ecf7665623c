"""LLM judges end to end through the console script (`python -m mtharness run ... metrics=[bleu,llm_mqm]`)
against a scripted judge server: scores.json, segments.jsonl spans, summaries, the rerun from the
cache, the key kept out of every file, and bad input (a key variable unset, an endpoint down or
answering garbage) ending in one line, exit 2, before anything is translated."""

from __future__ import annotations

import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread
from typing import Any

import pytest

from mtharness.run.reader import read_run
from tests.conftest import run_cli
from tests.helpers.net import free_port
from tests.helpers.openai_fault_server import FaultServer, segment_of
from tests.scoring.test_judge import scripted, translation_of

SENTINEL = "sk-judge-sentinel-0123456789-DO-NOT-LEAK"


def is_judge(body: dict[str, Any]) -> bool:
    return "translation:\n" in body["messages"][-1]["content"]


@pytest.fixture
def server() -> Iterator[FaultServer]:
    """Translates (translator=openai: the segment upper-cased) and judges (scripted answers)."""

    def segment(body: dict[str, Any]) -> str:
        return translation_of(body) if is_judge(body) else segment_of(body)

    def answer(body: dict[str, Any]) -> str:
        return scripted(body) if is_judge(body) else segment_of(body).upper()

    with FaultServer(segment=segment, answer=answer) as srv:
        yield srv


def write_tsv(tmp_path: Path) -> Path:
    rows = [("s1", "The dog is GEMBA here.", "x"), ("s2", "Hello GARBLE.", "y"), ("s3", "Good morning.", "z")]
    path = tmp_path / "data.tsv"
    path.write_text("id\tsource\treference\n" + "".join("\t".join(r) + "\n" for r in rows), encoding="utf-8")
    return path


def run_args(server: FaultServer, tmp_path: Path, name: str, *extra: str) -> list[str]:
    return [
        "run",
        "translator=openai",
        "translator.model=tiny",
        f"translator.base_url={server.base_url}",
        "metrics=[bleu,llm_mqm]",
        f"metrics.llm_mqm.base_url={server.base_url}",
        "metrics.llm_mqm.model=tiny",
        "metrics.llm_mqm.api_key_env=MTH_JUDGE_KEY",
        "metrics.llm_mqm.backoff_s=0.02",
        "dataset=tsv",
        f"dataset.path={write_tsv(tmp_path)}",
        "dataset.src_lang=en",
        "dataset.tgt_lang=de",
        "dataset.id_column=id",
        "validity.langid.enabled=false",
        f"results_dir={tmp_path / 'results'}",
        f"cache.dir={tmp_path / 'cache'}",
        f"hydra.run.dir={tmp_path / name}",
        *extra,
    ]


def test_run_scores_spans_summaries_rerun_and_no_key_anywhere(server: FaultServer, tmp_path: Path) -> None:
    env = {"MTH_JUDGE_KEY": SENTINEL}
    first = run_cli(run_args(server, tmp_path, "one"), cwd=tmp_path, env=env)
    assert first.returncode == 0, first.stderr
    judged = [r for r in server.requests if is_judge(r["body"])]
    assert len(judged) == 3  # the forward direction only: the round trip is not judged unless asked
    assert {r["headers"]["Authorization"] for r in judged} == {f"Bearer {SENTINEL}"}
    scores = json.loads((tmp_path / "one" / "scores.json").read_text(encoding="utf-8"))
    mqm = scores["scores"]["forward"]["LLM-MQM"]
    # THE DOG IS GEMBA HERE. -> one major + one minor error; HELLO GARBLE. -> unparseable; the third: none
    assert mqm["score"] == pytest.approx((-6 + 0) / 2) and mqm["judge_failures"] == 1
    assert "LLM-MQM" not in scores["scores"]["round_trip"]
    assert scores["judges"]["LLM-MQM"]["directions"] == {
        "forward": {"segments": 3, "judge_failures": 1, "cache_hits": 0}
    }
    assert scores["judges"]["LLM-MQM"]["usage"]["requests"] == 3
    rows = [json.loads(line) for line in (tmp_path / "one" / "segments.jsonl").read_text().splitlines()]
    assert [r["scores"]["forward"]["LLM-MQM"] for r in rows] == [-6.0, None, 0.0]
    assert {sp["severity"] for sp in rows[0]["spans"]["forward"]["LLM-MQM"]} == {"major", "minor"}
    summary = (tmp_path / "one" / "summary.md").read_text(encoding="utf-8")
    assert "(1 of 3 unparsed)" in summary and "1 of 3 judge answers could not be parsed (33%" in summary
    assert "LLM-MQM" in first.stdout and "(1 of 3 unparsed)" in first.stdout
    record = read_run(tmp_path / "one").record  # the typed record reads it back
    assert record.judges["LLM-MQM"].failures == {"forward": 1}

    sent = len(server.requests)
    again = run_cli(run_args(server, tmp_path, "two"), cwd=tmp_path, env=env)
    assert again.returncode == 0, again.stderr
    assert len(server.requests) == sent  # translations and judge answers all from the caches
    rerun = json.loads((tmp_path / "two" / "scores.json").read_text(encoding="utf-8"))
    assert rerun["scores"]["forward"]["LLM-MQM"] == mqm
    assert rerun["judges"]["LLM-MQM"]["usage"]["requests"] == 0

    for output in (first.stdout, first.stderr, again.stdout, again.stderr):
        assert SENTINEL not in output
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name == "judge.sqlite" for p in files)
    for path in files:
        assert SENTINEL.encode() not in path.read_bytes(), path


class _Garbage(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        body = b"<html><body>It works!</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET


@pytest.fixture
def garbage() -> Iterator[str]:
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Garbage)
    thread = Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}/v1"
    finally:
        srv.shutdown()
        srv.server_close()


@pytest.mark.parametrize("case", ["key unset", "endpoint down", "endpoint garbage"])
def test_bad_judge_input_is_one_line_before_translating(
    server: FaultServer, garbage: str, tmp_path: Path, case: str
) -> None:
    extra = {
        "key unset": [],
        "endpoint down": [f"metrics.llm_mqm.base_url=http://127.0.0.1:{free_port()}/v1"],
        "endpoint garbage": [f"metrics.llm_mqm.base_url={garbage}"],
    }[case]
    env = {} if case == "key unset" else {"MTH_JUDGE_KEY": SENTINEL}
    proc = run_cli(run_args(server, tmp_path, "bad", *extra), cwd=tmp_path, env=env)
    assert proc.returncode == 2, proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    expected = {
        "key unset": "metrics.llm_mqm.api_key_env=MTH_JUDGE_KEY: that environment variable is not set",
        "endpoint down": "no judge server answers",
        "endpoint garbage": "answers something that is not JSON",
    }[case]
    assert expected in last and "Traceback" not in proc.stderr
    assert server.requests == []  # nothing was translated
    assert not (tmp_path / "bad" / "scores.json").exists()


def test_compare_leaves_out_the_segments_any_system_has_no_judge_score_for(
    server: FaultServer, tmp_path: Path
) -> None:
    """Two runs whose judge failed on different segments: compare reads the stored scores (no request
    to the judge), and scores, CIs and the paired test use only the segments both were judged on."""
    env = {"MTH_JUDGE_KEY": SENTINEL}
    one = run_cli(run_args(server, tmp_path, "one"), cwd=tmp_path, env=env)  # fails on segment 2 of 3
    assert one.returncode == 0, one.stderr
    system = tmp_path / "other.de"
    system.write_text("THE DOG IS FINE.\nHELLO THERE.\nGOOD GARBLE.\n", encoding="utf-8")  # fails on 3
    files = [a for a in run_args(server, tmp_path, "two") if not a.startswith("translator")]
    two = run_cli(
        [*files, "translator=files", f"translator.forward={system}", "round_trip=false"],
        cwd=tmp_path,
        env=env,
    )
    assert two.returncode == 0, two.stderr
    rows = [json.loads(line) for line in (tmp_path / "two" / "segments.jsonl").read_text().splitlines()]
    assert [r["scores"]["forward"]["LLM-MQM"] for r in rows] == [0.0, 0.0, None]
    sent = len(server.requests)
    out = tmp_path / "cmp.json"
    cmp = run_cli(
        [
            "compare",
            str(tmp_path / "one"),
            str(tmp_path / "two"),
            "--metrics",
            "bleu",
            "llm_mqm",
            "--json",
            str(out),
            "--quiet",
        ],
        cwd=tmp_path,
        env=env,
    )
    assert cmp.returncode == 0, cmp.stderr
    assert len(server.requests) == sent  # the stored segment scores, nothing re-judged
    doc = json.loads(out.read_text(encoding="utf-8"))
    text = json.dumps(doc)
    assert "NaN" not in text
    # only segment 1 was judged for both: the dog sentence (-6: one major, one minor) vs no error
    mqm = doc["directions"]["forward"]["metrics"]["LLM-MQM"]
    assert {name: row["score"] for name, row in mqm["systems"].items()} == {"openai": -6.0, "files": 0.0}
    assert mqm["systems"]["files"]["p_value"] is not None  # the paired test ran on the common segment


@pytest.mark.parametrize(
    ("src_name", "flags", "direction"),
    [
        ("src.en", [], "from English into German"),  # the files' suffixes
        ("source.txt", ["--src-lang", "fr"], "from French into German"),
        ("source.txt", [], "from the source language into German"),  # nothing says: the prompt says so
    ],
)
def test_compare_files_tells_the_judge_the_languages(
    server: FaultServer, tmp_path: Path, src_name: str, flags: list[str], direction: str
) -> None:
    """Plain files judged by `compare`: each prompt the judge server receives names the direction as
    `run` would, and the MQM judge's errors become the error-span table of the comparison."""
    src = tmp_path / src_name
    src.write_text("The dog is big.\nIt rains.\nGood morning.\n", encoding="utf-8")
    (tmp_path / "ref.de").write_text("Der Hund ist groß.\nEs regnet.\nGuten Morgen.\n", encoding="utf-8")
    (tmp_path / "a.de").write_text("Der Hund ist GEMBA groß.\nEs regnet.\nGuten Morgen.\n", encoding="utf-8")
    (tmp_path / "b.de").write_text("Der Hund ist groß.\nEs GARBLE.\nGuten Morgen.\n", encoding="utf-8")
    out = tmp_path / "cmp.json"
    proc = run_cli(
        [
            "compare",
            "--src",
            str(src),
            "--refs",
            str(tmp_path / "ref.de"),
            "--systems",
            str(tmp_path / "a.de"),
            str(tmp_path / "b.de"),
            *flags,
            "--metrics",
            "bleu",
            "llm_mqm",
            "--metric-option",
            f"llm_mqm.base_url={server.base_url}",
            "llm_mqm.model=tiny",
            "llm_mqm.api_key_env=MTH_JUDGE_KEY",
            "llm_mqm.backoff_s=0.02",
            "--cache-dir",
            str(tmp_path / "cache"),
            "--json",
            str(out),
            "--quiet",
        ],
        cwd=tmp_path,
        env={"MTH_JUDGE_KEY": SENTINEL},
    )
    assert proc.returncode == 0, proc.stderr
    judged = [r["body"]["messages"][-1]["content"] for r in server.requests if is_judge(r["body"])]
    assert len(judged) == 5  # 3 segments x 2 systems; both say Guten Morgen: asked once
    for prompt in judged:
        assert f"Review this translation {direction}." in prompt
        assert "the target language" not in prompt
    doc = json.loads(out.read_text(encoding="utf-8"))
    fwd = doc["directions"]["forward"]
    # segment 2 unparseable for b: left out for both; a's GEMBA answer: one major + one minor error
    mqm = fwd["metrics"]["LLM-MQM"]["systems"]
    assert {name: row["score"] for name, row in mqm.items()} == {"a": -3.0, "b": 0.0}
    table = fwd["error_spans"]["LLM-MQM"]["systems"]
    assert table["a"]["segments"] == 3 and table["a"]["by_severity"] == {"major": 1, "minor": 1}
    assert table["b"]["segments"] == 2 and table["b"]["errors"] == 0  # the unparseable one: unannotated
    assert SENTINEL not in out.read_text(encoding="utf-8")


def test_compare_metric_option_errors_are_one_line(tmp_path: Path) -> None:
    (tmp_path / "ref.de").write_text("a\n", encoding="utf-8")
    (tmp_path / "a.de").write_text("a\n", encoding="utf-8")
    base = ["compare", "--refs", str(tmp_path / "ref.de"), "--systems", str(tmp_path / "a.de")]
    for option, expected in [
        ("llm_mqm.model", "expected KIND.KEY=VALUE"),
        ("llm_da.model=tiny", "llm_da is not one of --metrics bleu llm_mqm"),
    ]:
        proc = run_cli([*base, "--metrics", "bleu", "llm_mqm", "--metric-option", option], cwd=tmp_path)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr
        assert expected in proc.stderr.strip().splitlines()[-1]
