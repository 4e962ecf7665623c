"""The gate's rules, comparability check and baseline files, through the Python API."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from mtharness.core import MtharnessError
from mtharness.data.loaders import load_sample
from mtharness.gate.baseline import load_baseline, load_run, save_baseline
from mtharness.gate.rules import (
    GateSettings,
    RuleSpec,
    check_comparable,
    expand_rules,
    parse_assignment,
    run_gate,
    with_rate_guards,
)
from mtharness.reports.gate import junit_xml, markdown, payload
from tests.helpers.gate import corrupt_every, write_outputs_run


@pytest.fixture(scope="module")
def sample_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A 'perfect' system (outputs = references / sources), a degraded copy and a copying one."""
    root = tmp_path_factory.mktemp("gate_runs")
    ds = load_sample()
    refs, srcs = ds.reference_streams[0], ds.sources
    good = write_outputs_run(root / "good", ds, refs, srcs, "perfect")
    bad = write_outputs_run(root / "bad", ds, corrupt_every(refs), corrupt_every(srcs), "perfect-v2")
    copy = write_outputs_run(root / "copy", ds, srcs, srcs, "copier")
    save_baseline(good, root / "base.json")
    return {"good": good, "bad": bad, "copy": copy, "base": root / "base.json", "root": root}


def test_parse_assignment() -> None:
    assert parse_assignment("round_trip.chrF2=0.5", "--max-drop") == ("round_trip.chrF2", 0.5)
    for bad in ("chrF2", "chrF2=", "=1", "chrF2=abc"):
        with pytest.raises(MtharnessError, match="NAME=NUMBER"):
            parse_assignment(bad, "--max-drop")


def test_rules_expand_per_direction(sample_runs: dict[str, Path]) -> None:
    base = load_baseline(sample_runs["base"])
    notes: list[str] = []
    both = expand_rules([RuleSpec("chrf2", max_drop=0.5)], base, notes)  # names are case-insensitive
    assert [(r.direction, r.metric) for r in both] == [("forward", "chrF2"), ("round_trip", "chrF2")]
    one = expand_rules([RuleSpec("round_trip.BLEU", max_drop=1, min_score=40)], base, notes)
    assert [(r.direction, r.kind) for r in one] == [("round_trip", "max_drop"), ("round_trip", "min_score")]
    every = expand_rules([RuleSpec("*", max_drop=1)], base, notes)
    assert {r.metric for r in every} == {"BLEU", "chrF2"} and len(every) == 4
    with pytest.raises(MtharnessError, match="has no score 'TER'"):
        expand_rules([RuleSpec("TER", max_drop=1)], base, notes)
    with pytest.raises(MtharnessError, match="direction 'sideways'"):
        expand_rules([RuleSpec("BLEU", max_drop=1, direction="sideways")], base, notes)
    expand_rules([RuleSpec("off_target_rate", max_drop=0.02)], base, notes)
    assert any("off_target_rate: not in the baseline" in n for n in notes)


def test_drop_is_measured_in_the_metrics_own_direction(tmp_path: Path) -> None:
    """TER rising is a drop; TER falling is not."""
    ds = load_sample().subset(40)
    refs = ds.reference_streams[0]
    good = write_outputs_run(tmp_path / "g", ds, refs, None, "a", metrics=("ter", "chrf"))
    worse = [" ".join(r.split()[::-1]) for r in refs]  # same words, scrambled order: TER rises
    bad = write_outputs_run(tmp_path / "b", ds, worse, None, "b", metrics=("ter", "chrf"))
    save_baseline(good, tmp_path / "g.json")
    save_baseline(bad, tmp_path / "b.json")
    rule = [RuleSpec("TER", max_drop=1.0)]
    worse_run = run_gate(load_baseline(tmp_path / "g.json"), load_run(bad), rule)
    (outcome,) = worse_run.outcomes
    assert outcome.status == "fail" and outcome.current is not None and outcome.baseline is not None
    assert outcome.current > outcome.baseline and outcome.drop == pytest.approx(
        outcome.current - outcome.baseline
    )
    better_run = run_gate(load_baseline(tmp_path / "b.json"), load_run(good), rule)
    assert better_run.passed and better_run.outcomes[0].drop is not None and better_run.outcomes[0].drop < 0


def test_copying_system_fails_despite_perfect_round_trip(sample_runs: dict[str, Path]) -> None:
    specs = [RuleSpec("round_trip.chrF2", max_drop=0.5), RuleSpec("copy_rate", max_drop=0.02)]
    result = run_gate(load_baseline(sample_runs["base"]), load_run(sample_runs["copy"]), specs)
    status = {o.rule.target: o.status for o in result.outcomes}
    assert status == {"round_trip.chrF2": "pass", "copy_rate": "fail"}
    assert "copy_rate max_drop 0.02" in markdown(result) and not result.passed


def test_off_target_rate_is_gated_when_present(sample_runs: dict[str, Path], tmp_path: Path) -> None:
    base = load_baseline(sample_runs["base"])
    cur = load_run(sample_runs["good"])
    rule = [RuleSpec("off_target_rate", max_drop=0.02)]
    skipped = run_gate(base, cur, rule)
    assert skipped.passed and skipped.outcomes[0].status == "skip"
    base, cur = replace(base, off_target_rate=0.01), replace(cur, off_target_rate=0.10)
    failed = run_gate(base, cur, rule)
    assert failed.outcomes[0].status == "fail" and failed.outcomes[0].drop == pytest.approx(0.09)


def test_incomparable_runs_say_what_differs(sample_runs: dict[str, Path], tmp_path: Path) -> None:
    base = load_baseline(sample_runs["base"])
    ds = load_sample()
    shorter = write_outputs_run(
        tmp_path / "short", ds.subset(100), ds.reference_streams[0][:100], ds.sources[:100], "x"
    )
    with pytest.raises(MtharnessError, match="dataset content hash differs"):
        check_comparable(base, load_run(shorter))
    lower = write_outputs_run(tmp_path / "lc", ds, ds.reference_streams[0], ds.sources, "x")
    cur = load_run(lower)
    bleu = cur.scores["forward"]["BLEU"]
    lowercased = replace(bleu, signature=bleu.signature.replace("case:mixed", "case:lc"))
    cur = replace(cur, scores={**cur.scores, "forward": {**cur.scores["forward"], "BLEU": lowercased}})
    with pytest.raises(
        MtharnessError, match=r"forward.BLEU signature differs \(baseline case:mixed, current case:lc\)"
    ):
        check_comparable(base, cur)
    cur = load_run(lower)
    cur = replace(cur, dataset=replace(cur.dataset, pair="en-ca"))
    with pytest.raises(MtharnessError, match="language pair differs"):
        check_comparable(base, cur)


def test_baseline_round_trips_and_stays_small(sample_runs: dict[str, Path]) -> None:
    doc = json.loads(sample_runs["base"].read_text())
    run = json.loads((sample_runs["good"] / "scores.json").read_text())
    assert doc["scores"] == run["scores"] and doc["dataset"]["content_hash"] == run["dataset"]["content_hash"]
    assert doc["versions"]["sacrebleu"] and doc["translator"] == {"name": "perfect"}
    assert set(doc["metrics"]) == {"BLEU", "chrF2"} and len(doc["outputs"]["round_trip"]) == 150
    assert "sources" not in doc  # references and sources come from the current run (same content hash)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.pop("dataset"), "missing key 'dataset'"),
        (lambda d: d["dataset"].pop("content_hash"), "missing key 'dataset.content_hash'"),
        (lambda d: d["outputs"]["forward"].pop(), "outputs.forward must hold 150 strings"),
        (
            lambda d: d["scores"]["forward"]["BLEU"].update(score="high"),
            "'scores.forward.BLEU.score' has the wrong type",
        ),
        (lambda d: d.update(mtharness_baseline=99), "format 99"),
        # a rate or score that is not a number is bad input (exit 2), never a skipped rule; a rate
        # may be null (not measured), never NaN: run.record.parse_rate, the reader's rule too
        (lambda d: d["rates"].update(copy_rate="abc"), "rates: 'copy_rate' is 'abc', not a number"),
        (lambda d: d["rates"].update(copy_rate=float("nan")), "rates: 'copy_rate' is nan, not a number"),
        (
            lambda d: d["rates"].update(copy_rate=1.5),
            "rates: 'copy_rate' is 1.5, not a number between 0 and 1",
        ),
        (lambda d: d.update(rates=[0.1]), "key 'rates' has the wrong type"),
        (lambda d: d["scores"]["forward"]["BLEU"].update(score=True), "BLEU.score is not a finite number"),
        (lambda d: d["scores"]["forward"]["BLEU"].update(score=float("nan")), "is not a finite number"),
    ],
)
def test_malformed_baseline_is_one_line(
    sample_runs: dict[str, Path], tmp_path: Path, mutate, message
) -> None:  # type: ignore[no-untyped-def]
    doc = json.loads(sample_runs["base"].read_text())
    mutate(doc)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(MtharnessError, match=message) as err:
        load_baseline(path)
    assert "\n" not in str(err.value) and str(path) in str(err.value)


def test_reports_name_the_failing_rule(sample_runs: dict[str, Path]) -> None:
    specs = [RuleSpec("chrF2", max_drop=0.5), RuleSpec("forward.BLEU", min_score=10)]
    result = run_gate(load_baseline(sample_runs["base"]), load_run(sample_runs["bad"]), specs, GateSettings())
    failing = {o.rule.name for o in result.failures}
    assert failing == {"forward.chrF2 max_drop 0.5", "round_trip.chrF2 max_drop 0.5"}
    xml = junit_xml(result)
    assert xml.count("<testcase ") == 3 and xml.count("<failure ") == 2
    assert 'failure message="forward.chrF2 max_drop 0.5: drop' in xml
    assert payload(result)["exit_code"] == 1 and payload(result)["rules"][2]["status"] == "pass"


def test_edited_baseline_scores_are_caught_by_the_rescore(
    sample_runs: dict[str, Path], tmp_path: Path
) -> None:
    """A baseline whose outputs no longer give its recorded score cannot be tested for significance."""
    doc = json.loads(sample_runs["base"].read_text())
    doc["scores"]["forward"]["chrF2"]["score"] += 5.0
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(doc))
    with pytest.raises(MtharnessError, match="forward outputs re-score to chrF2"):
        run_gate(
            load_baseline(edited), load_run(sample_runs["good"]), [RuleSpec("forward.chrF2", 0.0, None, True)]
        )


def test_significance_reported_for_a_real_drop(sample_runs: dict[str, Path]) -> None:
    spec = [RuleSpec("round_trip.chrF2", max_drop=0.0, significance=True)]
    result = run_gate(load_baseline(sample_runs["base"]), load_run(sample_runs["bad"]), spec)
    (outcome,) = result.outcomes
    assert outcome.status == "fail" and outcome.p_value is not None and outcome.p_value < 0.05


@pytest.mark.parametrize("name", ["default", "strict"])
def test_shipped_gate_configs_expand_against_the_committed_baseline(name: str) -> None:
    from mtharness.gate.config import load_gate_config
    from mtharness.gate.rules import rule_specs_from_config
    from tests.conftest import REPO

    config = load_gate_config(name)
    base = load_baseline(REPO / "baselines" / "sample_apertium.json")
    rules = expand_rules(rule_specs_from_config(config["rules"], name), base, [])
    assert {r.direction for r in rules} == {"forward", "round_trip", None}
    assert {"copy_rate", "off_target_rate"} <= {r.metric for r in rules}


def test_rate_guards_apply_unless_a_rule_names_the_rate() -> None:
    guarded = with_rate_guards([RuleSpec("round_trip.chrF2", max_drop=0.5)])
    assert [(s.metric, s.max_drop) for s in guarded[1:]] == [("copy_rate", 0.02), ("off_target_rate", 0.02)]
    own = with_rate_guards([RuleSpec("copy_rate", max_drop=0.1)])
    assert [s.metric for s in own] == ["copy_rate", "off_target_rate"] and own[0].max_drop == 0.1


def test_gate_config_errors_are_one_line(tmp_path: Path) -> None:
    from mtharness.gate.config import load_gate_config

    dup = tmp_path / "dup.yaml"
    dup.write_text("alpha: 0.05\nalpha: 0.1\nrules: []\n")
    with pytest.raises(MtharnessError, match="line 2: duplicate key 'alpha'"):
        load_gate_config(str(dup))
    odd = tmp_path / "odd.yaml"
    odd.write_text("rules:\n  - {metric: BLEU, max_drop: 1, typo: 2}\n")
    from mtharness.gate.rules import rule_specs_from_config

    with pytest.raises(MtharnessError, match=r"rules\[0\] has unknown keys \['typo'\]"):
        rule_specs_from_config(load_gate_config(str(odd))["rules"], str(odd))
