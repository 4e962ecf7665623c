"""The gate speaks the CLI's one vocabulary: any metric spelling in rules, sacrebleu's metric options,
`--json FILE|-` and the default seed. Runs are the bundled sample with real text outputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sacrebleu.metrics import BLEU

from mtharness.cli import main as cli_main
from mtharness.core import DEFAULT_SEED
from mtharness.data.loaders import load_sample
from mtharness.gate.baseline import load_baseline, load_run
from mtharness.gate.config import assemble
from mtharness.gate.rules import run_gate
from tests.helpers.gate import corrupt_every, write_outputs_run


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A baseline scored as chrF2 and BLEU, a rerun with the same outputs and a clearly worse run."""
    root = tmp_path_factory.mktemp("vocab")
    ds = load_sample()
    refs = ds.reference_streams[0]
    good = corrupt_every(refs, 10)
    out = {
        "base": write_outputs_run(root / "base", ds, good, None, "sys", metrics=("chrF2", "BLEU")),
        "same": write_outputs_run(root / "same", ds, good, None, "sys", metrics=("chrF2", "BLEU")),
        "worse": write_outputs_run(
            root / "worse", ds, corrupt_every(refs, 3), None, "sys", metrics=("chrF2", "BLEU")
        ),
    }
    assert cli_main(["baseline", "save", str(out["base"]), str(root / "baseline.json")]) == 0
    out["baseline"] = root / "baseline.json"
    return out


def gate(runs: dict[str, Path], current: str, *flags: str) -> int:
    return cli_main(["gate", "--baseline", str(runs["baseline"]), "--current", str(runs[current]), *flags])


@pytest.mark.parametrize("name", ["chrf", "chrF2", "CHRF", "forward.chrf"])
def test_max_drop_chrf_works_against_a_chrF2_baseline(runs: dict[str, Path], name: str, capsys) -> None:  # type: ignore[no-untyped-def]
    assert "chrF2" in load_baseline(runs["baseline"]).scores["forward"]
    assert gate(runs, "same", "--max-drop", f"{name}=0.5") == 0
    assert gate(runs, "worse", "--max-drop", f"{name}=0.5") == 1
    out = capsys.readouterr().out
    assert "forward.chrF2 max_drop 0.5" in out


def test_min_score_and_config_rules_take_any_spelling(runs: dict[str, Path], tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    worse = load_run(runs["worse"]).scores["forward"]["chrF2"].score
    assert gate(runs, "worse", "--min-score", f"chrf={worse - 1}") == 0
    assert gate(runs, "worse", "--min-score", "bleu=100") == 1
    config = tmp_path / "rules.yaml"
    config.write_text("rules:\n  - {metric: chrf, max_drop: 0.5}\n  - {metric: Bleu, max_drop: 50}\n")
    specs, settings = assemble(str(config))
    assert settings.seed == DEFAULT_SEED
    result = run_gate(load_baseline(runs["baseline"]), load_run(runs["worse"]), specs, settings)
    assert {o.rule.target: o.status for o in result.outcomes if o.rule.direction} == {
        "forward.chrF2": "fail",
        "forward.BLEU": "pass",
    }
    assert gate(runs, "worse", "--config", str(config)) == 1
    capsys.readouterr()


def test_unknown_metric_name_is_exit_2_with_the_known_names(runs: dict[str, Path], capsys) -> None:  # type: ignore[no-untyped-def]
    assert gate(runs, "same", "--max-drop", "chrx=0.5") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no score 'chrx'" in err[0] and "chrf (chrF, chrF2)" in err[0]


def test_sacrebleu_options_rescore_both_sides(runs: dict[str, Path], capsys) -> None:  # type: ignore[no-untyped-def]
    """`-tok none -lc`: both runs are scored again from their outputs with those BLEU settings."""
    capsys.readouterr()
    assert gate(runs, "worse", "--max-drop", "bleu=100", "-tok", "none", "-lc", "--json", "-") == 0
    captured = capsys.readouterr()
    doc = json.loads(captured.out)  # --json -: stdout is the JSON alone, the table went to stderr
    assert "BLEU" in captured.err and doc["passed"] is True
    rule = next(r for r in doc["rules"] if r["metric"] == "BLEU")
    refs = [load_sample().reference_streams[0]]
    base = load_baseline(runs["baseline"]).outputs["forward"]
    cur = load_run(runs["worse"]).outputs["forward"]
    bleu = BLEU(tokenize="none", lowercase=True)
    assert rule["baseline"] == pytest.approx(bleu.corpus_score(base, refs).score, abs=1e-4)
    assert rule["current"] == pytest.approx(bleu.corpus_score(cur, refs).score, abs=1e-4)
    stored = load_baseline(runs["baseline"]).scores["forward"]["BLEU"].score
    assert abs(rule["baseline"] - stored) > 0.01  # the options changed the numbers (13a, mixed case stored)


def test_seed_drives_the_gate_significance(runs: dict[str, Path], tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    """--require-significance: the p-value moves with --seed and repeats at the same seed."""
    ds = load_sample()
    refs = ds.reference_streams[0]
    close = write_outputs_run(
        tmp_path / "close", ds, corrupt_every(refs, 9), None, "sys", metrics=("chrF2", "BLEU")
    )
    runs = {**runs, "close": close}
    p_values = []
    for seed in ("1", "2", "1"):
        path = tmp_path / f"gate-{seed}-{len(p_values)}.json"
        code = gate(
            runs,
            "close",
            "--max-drop",
            "chrf=0",
            "--require-significance",
            "--seed",
            seed,
            "--json",
            str(path),
        )
        assert code in (0, 1)
        doc = json.loads(path.read_text())
        assert doc["settings"]["seed"] == int(seed)
        p_values.append(next(r["p_value"] for r in doc["rules"] if r["metric"] == "chrF2"))
    assert p_values[0] == p_values[2] and p_values[0] != p_values[1]
    capsys.readouterr()


def test_rescoring_refuses_an_edited_baseline(runs: dict[str, Path], tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    doc = json.loads(runs["baseline"].read_text())
    doc["scores"]["forward"]["BLEU"]["score"] += 5
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(doc))
    flags = ["--current", str(runs["same"]), "--max-drop", "bleu=1", "-tok", "none"]
    assert cli_main(["gate", "--baseline", str(edited), *flags]) == 2
    assert "outputs re-score to BLEU" in capsys.readouterr().err
