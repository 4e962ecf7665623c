"""Flags that mean the same in every command: --json FILE|-, --seed (one default), --tgt-lang, and
metric names in `run` overrides. Real runs of the bundled sample; echo and file-backed systems."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mtharness.cli import main as cli_main
from mtharness.cli.run import canonical_metric_overrides, run_from_config
from mtharness.compare.rtt import resolve_score_name
from mtharness.core import DEFAULT_SEED, MtharnessError
from mtharness.data.loaders import SAMPLE_DIR, load_sample
from mtharness.host import config_dir
from mtharness.run.evaluate import evaluate
from mtharness.run.record import RunRecord
from mtharness.run.writer import write_run
from mtharness.scoring.metrics import parse_specs
from mtharness.translators.echo import EchoTranslator
from mtharness.translators.files import FilesTranslator
from tests.conftest import compose
from tests.helpers.gate import corrupt_every


def cli_json(argv: list[str], capsys: Any) -> tuple[dict[str, Any], str]:
    """Run a command with `--json -`: stdout must be the JSON alone; returns it and stderr."""
    capsys.readouterr()
    assert cli_main([*argv, "--json", "-"]) == 0
    captured = capsys.readouterr()
    return json.loads(captured.out), captured.err


@pytest.fixture(scope="module")
def systems(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Three Spanish outputs of the sample (references with 1/3, 1/5, 1/9 of the lines misaligned)."""
    root = tmp_path_factory.mktemp("systems")
    refs = load_sample().reference_streams[0]
    out = {}
    for every in (3, 5, 9):
        out[f"sys{every}"] = root / f"sys{every}.es"
        out[f"sys{every}"].write_text("".join(f"{x}\n" for x in corrupt_every(refs, every)), encoding="utf-8")
    return out


def compare_files(systems: dict[str, Path], *flags: str) -> list[str]:
    return [
        "compare",
        "--refs",
        str(SAMPLE_DIR / "sample.es"),
        "--systems",
        *map(str, systems.values()),
        *flags,
    ]


def test_compare_seed_drives_cis_and_p_values(systems: dict[str, Path], capsys: Any) -> None:
    docs = [
        cli_json(compare_files(systems, "--seed", seed, "--metrics", "chrf"), capsys)[0] for seed in "121"
    ]
    rows = [d["directions"]["forward"]["metrics"]["chrF2"]["systems"]["sys5"] for d in docs]
    assert [d["paired"]["seed"] for d in docs] == [1, 2, 1]
    assert rows[0] == rows[2]  # the same seed reproduces every resample
    assert rows[0]["ci"] != rows[1]["ci"] and rows[0]["p_value"] != rows[1]["p_value"]
    default, _ = cli_json(compare_files(systems, "--metrics", "chrf"), capsys)
    assert default["paired"]["seed"] == DEFAULT_SEED == 12345


def test_compare_metric_spellings_and_tgt_lang_alias(systems: dict[str, Path], capsys: Any) -> None:
    plain, _ = cli_json(
        compare_files(systems, "--metrics", "bleu", "chrf", "chrfpp", "--tgt-lang", "es"), capsys
    )
    other, _ = cli_json(
        compare_files(systems, "--metrics", "BLEU", "chrF2", "chrF++", "--trg-lang", "es"), capsys
    )
    assert plain["directions"] == other["directions"]
    assert list(plain["directions"]["forward"]["metrics"]) == ["BLEU", "chrF2", "chrF2++"]


def test_run_seed_is_recorded_and_drives_report_and_compare(tmp_path: Path, capsys: Any) -> None:
    base = ["translator=echo", "limit=40", "progress=false", "metrics=[chrf]"]
    default = run_from_config(compose(base), tmp_path / "default")
    assert isinstance(default, RunRecord) and default.seed == DEFAULT_SEED
    runs = [run_from_config(compose([*base, "seed=7"]), tmp_path / f"seven{i}") for i in range(2)]
    assert isinstance(runs[0], RunRecord) and runs[0].seed == 7 and runs[0].config["seed"] == 7
    doc, err = cli_json(["report", str(tmp_path / "seven0")], capsys)
    assert doc["ci"]["seed"] == 7 and "wrote" in err
    assert cli_json(["report", str(tmp_path / "seven0"), "--seed", "3"], capsys)[0]["ci"]["seed"] == 3
    both, _ = cli_json(["compare", str(tmp_path / "seven0"), str(tmp_path / "seven1")], capsys)
    assert both["paired"]["seed"] == 7
    mixed, _ = cli_json(["compare", str(tmp_path / "seven0"), str(tmp_path / "default")], capsys)
    assert mixed["paired"]["seed"] == DEFAULT_SEED
    with pytest.raises(MtharnessError, match="seed='x': must be an integer"):
        run_from_config(compose([*base, "seed=x"]), tmp_path / "bad")


def test_run_takes_any_metric_spelling_in_overrides() -> None:
    dirs = [config_dir()]
    assert canonical_metric_overrides(["metrics=[chrF2,BLEU,chrF++]", "limit=3"], dirs) == [
        "metrics=[chrf,bleu,chrfpp]",
        "limit=3",
    ]
    assert canonical_metric_overrides(["metrics.chrF2.beta=3", "+metrics=TER"], dirs) == [
        "metrics.chrf.beta=3",
        "+metrics=ter",
    ]
    with pytest.raises(MtharnessError, match="known names"):
        canonical_metric_overrides(["metrics=[bleu,meteor]"], dirs)


def test_run_cli_with_chrF2_and_BLEU(tmp_path: Path) -> None:
    assert (
        cli_main(
            [
                "run",
                "translator=echo",
                "limit=5",
                "progress=false",
                "metrics=[chrF2,BLEU]",
                f"hydra.run.dir={tmp_path / 'r'}",
            ]
        )
        == 0
    )
    scores = json.loads((tmp_path / "r" / "scores.json").read_text())["scores"]["forward"]
    assert sorted(scores) == ["BLEU", "chrF2"]


def test_json_file_and_stdout_agree(systems: dict[str, Path], tmp_path: Path, capsys: Any) -> None:
    """compare, leaderboard, align, baseline show and rtt-correlation: FILE and `-` give one document."""
    ds = load_sample()
    for name, path in systems.items():
        translator = FilesTranslator(
            name, forward=str(path), source=str(SAMPLE_DIR / "sample.en"), fallback=EchoTranslator()
        )
        write_run(
            evaluate(ds, translator, parse_specs(["chrf"]), progress=False, validity={}),
            tmp_path / "runs" / name,
        )
    article = SAMPLE_DIR / "article.en"
    commands = {
        "compare": compare_files(systems, "--metrics", "chrf", "--paired-n", "200", "--ci-n", "200"),
        "leaderboard": ["leaderboard", str(tmp_path / "runs"), "--out", str(tmp_path)],
        "align": ["align", str(article), str(SAMPLE_DIR / "article.garbled.en")],
        "rtt-correlation": ["rtt-correlation", str(tmp_path / "runs"), "--forward", "chrf"],
        "datasets": ["datasets", "--no-count"],
    }
    assert cli_main(["baseline", "save", str(tmp_path / "runs" / "sys3"), str(tmp_path / "b.json")]) == 0
    commands["baseline show"] = ["baseline", "show", str(tmp_path / "b.json")]
    for command, argv in commands.items():
        doc, _ = cli_json(argv, capsys)
        target = tmp_path / f"{command}.json"
        assert cli_main([*argv, "--json", str(target)]) == 0
        from_file = json.loads(target.read_text())
        for volatile in ("created",):
            doc.pop(volatile, None), from_file.pop(volatile, None)
        assert from_file == doc, command
    assert doc["translator"]["name"] == "sys3" and "outputs" not in doc  # baseline show
    rtt = json.loads((tmp_path / "rtt-correlation.json").read_text())
    assert rtt["forward_metric"] == "chrF2" and rtt["n_systems"] == 3
    board = json.loads((tmp_path / "leaderboard.json").read_text())
    assert [r["translator"] for r in board["groups"][0]["runs"]] == ["sys9", "sys5", "sys3"]  # best first


def test_resolve_score_name() -> None:
    names = ["BLEU", "chrF2", "chrF2++", "TER"]
    assert [resolve_score_name(n, names) for n in ("chrf", "CHRF2", "chrf++", "ter", "nope")] == [
        "chrF2",
        "chrF2",
        "chrF2++",
        "TER",
        "nope",
    ]
