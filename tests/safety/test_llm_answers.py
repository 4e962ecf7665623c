"""Issue 26 (4, 12, 13): what an OpenAI-compatible server answers cannot break the run's files or pass
silently: multi-line answers, null/list content, runaway answers, bad limits."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.helpers.openai_fault_server import FaultServer

SOURCES = [
    "the cat sleeps",
    "MULTILINE one",
    "a dog barks",
    "LISTCONTENT here",
    "MULTILINE two",
    "the end",
]


@pytest.fixture
def server() -> Iterator[FaultServer]:
    with FaultServer(slow_s=2.0) as srv:
        yield srv


def _run(server: FaultServer, tmp_path: Path, sources: list[str], *extra: str):  # type: ignore[no-untyped-def]
    (tmp_path / "src.en").write_text("".join(f"{s}\n" for s in sources), encoding="utf-8")
    (tmp_path / "ref.es").write_text("".join(f"{s.upper()}\n" for s in sources), encoding="utf-8")
    args = [
        "run",
        "translator=openai",
        "translator.model=tiny",
        f"translator.base_url={server.base_url}",
        "translator.backoff_s=0.01",
        "translator.max_retries=1",
        "dataset=files",
        "dataset.src=src.en",
        "dataset.refs=[ref.es]",
        "dataset.src_lang=en",
        "dataset.tgt_lang=es",
        "progress=false",
        "validity.langid.enabled=false",
        "cache.dir=cache",
        "hydra.run.dir=run",
        *extra,
    ]
    return run_cli(args, tmp_path)


def test_multi_line_answers_keep_files_line_aligned(server: FaultServer, tmp_path: Path) -> None:
    done = _run(server, tmp_path, SOURCES, "translator.sentence_level=false")
    assert done.returncode == 0, done.stderr
    run = tmp_path / "run"
    hyp = (run / "hyp.es.txt").read_text(encoding="utf-8").split("\n")[:-1]
    rt = (run / "rt.en.txt").read_text(encoding="utf-8").split("\n")[:-1]
    assert len(hyp) == len(rt) == len(SOURCES)
    assert hyp[1] == "MULTILINE ONE SECOND LINE" and hyp[3] == "LISTCONTENT HERE"  # list parts joined
    rows = [json.loads(line) for line in (run / "segments.jsonl").read_text(encoding="utf-8").splitlines()]
    assert rows[1]["forward"] == rows[1]["forward_raw"] == "MULTILINE ONE\nSECOND LINE"  # raw text kept


def test_null_content_is_a_failure_naming_the_segment(server: FaultServer, tmp_path: Path) -> None:
    done = _run(server, tmp_path, ["fine", "NULLCONTENT please", "fine too"], "round_trip=false")
    assert done.returncode == 2
    last = done.stderr.strip().splitlines()[-1]
    assert "segment 2 (en->es) failed" in last and "content is null" in last, done.stderr
    assert not (tmp_path / "run" / "scores.json").exists()


def test_runaway_answer_is_cut_and_counted(server: FaultServer, tmp_path: Path) -> None:
    done = _run(
        server,
        tmp_path,
        ["ok", "HUGE answer", "ok again"],
        "round_trip=false",
        "translator.max_answer_chars=1000",
    )
    assert done.returncode == 0, done.stderr
    scores = json.loads((tmp_path / "run" / "scores.json").read_text(encoding="utf-8"))
    assert scores["usage"]["answers_truncated"] == 1
    hyp = (tmp_path / "run" / "hyp.es.txt").read_text(encoding="utf-8").split("\n")
    assert len(hyp[1]) == 1000


@pytest.mark.parametrize(
    "override",
    ["translator.requests_per_minute=-5", "translator.max_tokens=-1", "translator.max_answer_chars=0"],
)
def test_bad_limits_are_refused(server: FaultServer, tmp_path: Path, override: str) -> None:
    done = _run(server, tmp_path, ["one"], override)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and override.split("=")[0] in lines[0], done.stderr
