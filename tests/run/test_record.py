"""The typed run record: what the writer writes reads back equal, an old run folder still reads, and
every command reads a run folder once."""

from __future__ import annotations

import json
import math
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from mtharness.cli import main as cli_main
from mtharness.compare.leaderboard import collect
from mtharness.compare.runs import inputs_from_runs
from mtharness.compare.systems import compare
from mtharness.core import MetricResult, MtharnessError
from mtharness.data.loaders import load_sample
from mtharness.gate.baseline import load_baseline, load_run, save_baseline
from mtharness.gate.rules import RuleSpec, run_gate
from mtharness.reports.leaderboard import write_leaderboard
from mtharness.run import reader
from mtharness.run.evaluate import evaluate
from mtharness.run.reader import read_run
from mtharness.run.record import SCHEMA_VERSION, CacheCounts, RunRecord, parse_rate
from mtharness.run.settings import RunSettings
from mtharness.run.writer import write_run
from mtharness.scoring.metrics import parse_specs
from mtharness.translators.echo import EchoTranslator
from tests.conftest import REPO

# made by main at 33f8672 (before the record existed): `mtharness run translator=echo limit=5`
OLD_RUN = REPO / "tests" / "fixtures" / "run_schema1_echo"


def _copy_old_run(dst: Path) -> Path:
    shutil.copytree(OLD_RUN, dst)
    return dst


def test_an_old_run_folder_reads_into_the_record() -> None:
    run = read_run(OLD_RUN)
    rec = run.record
    assert rec.schema_version == SCHEMA_VERSION == 1
    assert rec.name == "echo" and rec.n_segments == 5 and rec.dataset.pair == "en-es"
    assert (
        rec.dataset.references == ("A",)
        and rec.dataset.content_hash == load_sample().subset(5).content_hash()
    )
    assert rec.copy_rate == 1.0 and rec.off_target_rate == 1.0 and rec.empty_sources == 0
    assert rec.langid is not None and rec.langid.detected == {"en": 5}
    assert rec.forward is not None and rec.forward.cache == CacheCounts(hits=0, misses=5)
    assert rec.scores["round_trip"]["chrF2"].score == 100.0
    assert rec.scores["forward"]["TER"].higher_is_better is False
    assert rec.seed == 12345 and rec.git_commit == "33f8672e73d5a882c8effd5e6d10d4d1c7e9151c"
    # nothing the old writer wrote is lost: the record writes the same document back, plus the fields
    # the format gained since (each score's display precision)
    written = rec.to_json()
    for metrics in written["scores"].values():
        for stored in metrics.values():
            assert stored.pop("precision") == 2
    assert written == json.loads((OLD_RUN / "scores.json").read_text(encoding="utf-8"))
    assert run.outputs("forward") == run.sources  # echo


def test_compare_gate_and_leaderboard_accept_an_old_run(tmp_path: Path) -> None:
    one = _copy_old_run(tmp_path / "results" / "a" / "old")
    two = _copy_old_run(tmp_path / "results" / "b" / "old2")
    inputs = inputs_from_runs([one, two])
    assert [i.label for i in inputs] == ["forward", "round_trip"]
    comp = compare(inputs[0], parse_specs(["chrf"]), None, None, 12345, 0.05, 50)
    assert comp.metrics[0].name == "chrF2"
    save_baseline(one, tmp_path / "base.json")
    verdict = run_gate(
        load_baseline(tmp_path / "base.json"), load_run(two), [RuleSpec("chrF2", max_drop=0.0)]
    )
    assert verdict.passed and {o.status for o in verdict.outcomes} == {"pass"}
    entries, skipped = collect(tmp_path / "results")
    assert len(entries) == 2 and not skipped and entries[0].rate("off_target_rate") == 1.0
    info = write_leaderboard(tmp_path / "results", tmp_path / "board", ci_samples=20)
    assert info["runs"] == 2 and "echo" in info["markdown"].read_text(encoding="utf-8")


def test_what_the_writer_writes_reads_back_equal(tmp_path: Path) -> None:
    result = evaluate(
        load_sample().subset(8), EchoTranslator(), parse_specs(["chrf", "ter"]), progress=False, validity={}
    )
    result.translator_notes["usage"] = {"prompt_tokens": 120, "completion_tokens": 80, "cost_usd": 0.002}
    written = write_run(result, tmp_path / "run")
    again = read_run(tmp_path / "run").record
    assert again == written
    assert again.usage == {"prompt_tokens": 120, "completion_tokens": 80, "cost_usd": 0.002}
    assert again.off_target_measured and again.langid is not None and again.langid.target == "es"
    assert json.loads((tmp_path / "run" / "scores.json").read_text(encoding="utf-8")) == again.to_json()


def test_an_unrounded_model_score_stays_unrounded(tmp_path: Path) -> None:
    """COMET keeps its exact mean in extra["score"] (4 decimals hide real differences): run folder,
    record and baseline all keep it; sacrebleu's scores are stored with 4 decimals."""
    result = evaluate(load_sample().subset(4), EchoTranslator(), parse_specs(["chrf"]), progress=False)
    exact = 0.123456789
    result.forward.scores["COMET"] = MetricResult(
        "COMET", exact, "model:toy", True, {"score": exact, "model": "toy"}
    )
    result.forward.segment_scores["COMET"] = [exact] * 4
    written = write_run(result, tmp_path / "run")
    assert (
        written.scores["forward"]["COMET"].score == exact
        and "score" not in written.scores["forward"]["COMET"].extra
    )
    assert written.scores["forward"]["chrF2"].score == round(result.forward.scores["chrF2"].score, 4)
    assert read_run(tmp_path / "run").record == written
    save_baseline(tmp_path / "run", tmp_path / "base.json")
    assert load_baseline(tmp_path / "base.json").scores["forward"]["COMET"].score == exact


def test_a_record_without_validity_round_trips(tmp_path: Path) -> None:
    result = evaluate(
        load_sample().subset(4),
        EchoTranslator(),
        parse_specs(["bleu"]),
        round_trip=False,
        progress=False,
        validity=None,
    )
    written = write_run(result, tmp_path / "run")
    again = read_run(tmp_path / "run").record
    assert again == written and again.round_trip is None and again.off_target_rate is None
    assert not again.off_target_measured and "off_target_rate" not in again.to_json()
    assert again.rates == {"copy_rate": 1.0}


def test_one_rule_for_rates() -> None:
    where = "scores file x"
    assert parse_rate(None, "off_target_rate", where) is None  # not measured
    assert parse_rate(0.25, "copy_rate", where) == 0.25 and parse_rate(1, "copy_rate", where) == 1.0
    assert parse_rate({"forward": 0.5}, "copy_rate", where) == 0.5  # the forward output is judged
    for bad in (math.nan, math.inf, "0.1", True, -0.1, 1.5):
        with pytest.raises(MtharnessError, match=r"^scores file x: 'copy_rate' is .*, not a number"):
            parse_rate(bad, "copy_rate", where)


def test_nan_rate_in_scores_json_is_refused_by_reader_and_gate(tmp_path: Path) -> None:
    run = _copy_old_run(tmp_path / "nan")
    doc = json.loads((run / "scores.json").read_text(encoding="utf-8"))
    doc["off_target_rate"] = math.nan
    (run / "scores.json").write_text(json.dumps(doc), encoding="utf-8")
    for read in (read_run, load_run):
        with pytest.raises(MtharnessError, match="'off_target_rate' is nan, not a number"):
            read(run)


def test_null_rate_in_a_baseline_means_not_measured(tmp_path: Path) -> None:
    save_baseline(OLD_RUN, tmp_path / "base.json")
    doc = json.loads((tmp_path / "base.json").read_text(encoding="utf-8"))
    doc["rates"]["copy_rate"] = None
    (tmp_path / "base.json").write_text(json.dumps(doc), encoding="utf-8")
    base = load_baseline(tmp_path / "base.json")
    assert base.copy_rate is None and base.rates == {"off_target_rate": 1.0}
    verdict = run_gate(base, load_run(OLD_RUN), [RuleSpec("copy_rate", max_drop=0.0)])
    assert verdict.passed and verdict.outcomes[0].status == "skip"


def test_settings_are_checked_once_for_the_python_api() -> None:
    settings = RunSettings.build(parse_specs(["chrf"]), limit="3", progress=False, round_trip=False)
    assert settings.limit == 3 and settings.metrics[0].kind == "chrf" and settings.validity is None
    result = evaluate(load_sample(), EchoTranslator(), settings=settings)
    assert len(result.forward.outputs) == 3 and result.round_trip is None
    with pytest.raises(MtharnessError, match=r"^limit='abc' is not a whole number"):
        evaluate(load_sample(), EchoTranslator(), limit="abc", progress=False)
    with pytest.raises(MtharnessError, match=r"validity: unknown group"):
        evaluate(load_sample(), EchoTranslator(), validity={"colour": {}}, progress=False)
    with pytest.raises(TypeError, match="either settings or"):
        evaluate(load_sample(), EchoTranslator(), settings=settings, limit=2)
    assert RunSettings.from_config({"seed": None}).seed == 12345 and replace(settings, seed=7).seed == 7


def _count_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []
    parse = reader.record_from_json

    def counting(payload: Any, where: str) -> RunRecord:
        seen.append(where)
        return parse(payload, where)

    monkeypatch.setattr(reader, "record_from_json", counting)
    return seen


def test_report_and_compare_read_each_run_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    one = _copy_old_run(tmp_path / "one")
    two = _copy_old_run(tmp_path / "two")
    seen = _count_reads(monkeypatch)
    assert cli_main(["report", str(one), "--ci-n", "20", "--out", str(tmp_path / "r.html")]) == 0
    assert len(seen) == 1, seen
    seen.clear()
    assert cli_main(["compare", str(one), str(two), "--ci-n", "20", "--paired", "none", "--quiet"]) == 0
    assert len(seen) == 2, seen
    seen.clear()
    assert cli_main(["baseline", "save", str(one), str(tmp_path / "base.json")]) == 0
    assert len(seen) == 1, seen
    seen.clear()
    assert cli_main(["baseline", "refresh", str(two), str(tmp_path / "base.json")]) == 0
    assert len(seen) == 1, seen  # the comparability check and the new baseline share one read
    seen.clear()
    gate = ["gate", "--baseline", str(tmp_path / "base.json"), "--current", str(one), "--max-drop", "chrF2=0"]
    assert cli_main(gate) == 0
    assert len(seen) == 1, seen
    capsys.readouterr()
