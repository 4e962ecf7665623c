"""The one run-folder reader: a real run folder reads back typed; anything wrong is one line."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mtharness.compare.leaderboard import collect
from mtharness.compare.runs import inputs_from_runs
from mtharness.core import MtharnessError
from mtharness.data.loaders import load_sample
from mtharness.gate.baseline import load_run
from mtharness.run.evaluate import evaluate
from mtharness.run.reader import RunFolder, read_run
from mtharness.run.record import SCHEMA_VERSION
from mtharness.run.writer import write_run
from mtharness.scoring.metrics import parse_specs
from mtharness.translators.echo import EchoTranslator


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("run") / "echo"
    write_run(
        evaluate(load_sample().subset(6), EchoTranslator(), parse_specs(["chrf", "bleu"]), progress=False),
        out,
    )
    return out


def test_reads_what_the_writer_wrote(run_dir: Path) -> None:
    payload = json.loads((run_dir / "scores.json").read_text())
    rows = [json.loads(line) for line in (run_dir / "segments.jsonl").read_text().splitlines()]
    run = read_run(run_dir)
    assert isinstance(run, RunFolder) and read_run(run_dir / "scores.json").path == run_dir
    assert run.record.to_json() == payload and run.name == "echo" and run.n_segments == 6
    assert {d: {n: m.to_json() for n, m in per.items()} for d, per in run.scores.items()} == payload["scores"]
    assert run.directions() == ["forward", "round_trip"]
    assert (
        run.src_lang == "en"
        and run.tgt_lang == "es"
        and run.content_hash == payload["dataset"]["content_hash"]
    )
    # evaluate() runs language ID by default, as `mtharness run` does: echo writes English for es
    assert run.rates == {"copy_rate": 1.0, "off_target_rate": 1.0} and run.config == payload["config"]
    assert run.rows == rows and run.sources == [r["source"] for r in rows]
    assert run.references() == [[r["references"][0] for r in rows]]
    assert run.outputs("forward") == [r["forward"] for r in rows] and run.has_round_trip
    assert run.segments_path == run_dir / "segments.jsonl" and run.scores_path == run_dir / "scores.json"
    with pytest.raises(AttributeError):
        run.scores = {}  # type: ignore[misc]  # frozen


def test_rows_are_read_lazily(run_dir: Path, tmp_path: Path) -> None:
    """A leaderboard reads scores.json only: a broken segments file is found only when rows are read."""
    copy = _copy(run_dir, tmp_path / "lazy")
    (copy / "segments.jsonl").write_text("{not json\n")
    run = read_run(copy)
    assert run.scores
    with pytest.raises(MtharnessError, match=r"segments\.jsonl, line 1"):
        run.rows  # noqa: B018


def _copy(src: Path, dst: Path) -> Path:
    dst.mkdir(parents=True)
    for name in ("scores.json", "segments.jsonl"):
        (dst / name).write_bytes((src / name).read_bytes())
    return dst


def _edit(run_dir: Path, tmp_path: Path, change: Callable[[dict[str, Any]], None]) -> Path:
    out = _copy(run_dir, tmp_path / "edited")
    payload = json.loads((out / "scores.json").read_text())
    change(payload)
    (out / "scores.json").write_text(json.dumps(payload))
    return out


def _one_line_error(path: Path, match: str) -> str:
    with pytest.raises(MtharnessError) as info:
        read_run(path)
    message = str(info.value)
    assert "\n" not in message and match in message, message
    return message


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda p: p.pop("schema_version"), "no 'schema_version'"),
        (lambda p: p.update(schema_version=SCHEMA_VERSION + 1), f"schema_version {SCHEMA_VERSION + 1}"),
        (lambda p: p.update(schema_version="1"), "schema_version '1'"),
        (lambda p: p.update(schema_version=True), "schema_version True"),
        (
            lambda p: p["scores"]["forward"]["chrF2"].update(score="high"),
            "has score 'high', not a number",
        ),
        (lambda p: p["scores"]["forward"]["chrF2"].update(score=None), "not a number"),
        (lambda p: p["scores"]["forward"]["chrF2"].pop("signature"), "needs a 'signature'"),
        (lambda p: p["scores"].update(sideways={}), "unknown direction 'sideways'"),
        (lambda p: p.pop("dataset"), "missing key 'dataset'"),
        (lambda p: p["dataset"].pop("content_hash"), "missing key 'dataset.content_hash'"),
        (lambda p: p.update(n_segments="6"), "'n_segments' must be a whole number"),
        (lambda p: p.update(copy_rate="all"), "'copy_rate' is 'all', not a number"),
    ],
)
def test_bad_scores_json_is_one_line(
    run_dir: Path, tmp_path: Path, change: Callable[[dict[str, Any]], None], match: str
) -> None:
    edited = _edit(run_dir, tmp_path, change)
    message = _one_line_error(edited, match)
    assert str(edited / "scores.json") in message


def test_unknown_schema_version_refused_by_every_reader(run_dir: Path, tmp_path: Path) -> None:
    edited = _edit(run_dir, tmp_path, lambda p: p.update(schema_version=99))
    for read in (read_run, load_run, lambda p: inputs_from_runs([p])):
        with pytest.raises(MtharnessError, match="schema_version 99, this mtharness reads version 1"):
            read(edited)
    entries, skipped = collect(tmp_path)  # the leaderboard skips it with the same one-line reason
    assert not entries and len(skipped) == 1 and "schema_version 99" in skipped[0]


def test_missing_and_malformed_files(run_dir: Path, tmp_path: Path) -> None:
    _one_line_error(tmp_path / "nowhere", "not a directory")
    (tmp_path / "empty").mkdir()
    _one_line_error(tmp_path / "empty", "no scores.json")
    broken = _copy(run_dir, tmp_path / "broken")
    (broken / "scores.json").write_text('{"schema_version": 1,')
    _one_line_error(broken, "line 1: not valid JSON")
    (broken / "scores.json").write_text("[1, 2]")
    _one_line_error(broken, "expected a JSON object, found list")
    (broken / "scores.json").write_bytes(b"\xff\xfe{}")
    _one_line_error(broken, "invalid UTF-8")


def test_segments_must_match_scores(run_dir: Path, tmp_path: Path) -> None:
    short = _copy(run_dir, tmp_path / "short")
    lines = (short / "segments.jsonl").read_text().splitlines()
    (short / "segments.jsonl").write_text("\n".join(lines[:-1]) + "\n")
    with pytest.raises(MtharnessError, match=r"has 5 rows but scores\.json says 6 segments"):
        read_run(short).rows  # noqa: B018
    (short / "segments.jsonl").unlink()
    with pytest.raises(MtharnessError, match=r"segments file .*segments\.jsonl: no such file"):
        read_run(short).rows  # noqa: B018
    (short / "segments.jsonl").write_text("\n".join(['{"source": 3, "references": []}'] * 6) + "\n")
    with pytest.raises(MtharnessError, match="row 1: expected an object with 'source' and 1 'references'"):
        read_run(short).rows  # noqa: B018
