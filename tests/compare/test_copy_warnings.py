"""Copy and off-target warnings at the configurable rate (default 5%), beside every round-trip comparison.

The issue's repro: a system that copies 10% of its input gets a round trip "significantly better"
than an honest system's (chrF2 79.95 vs 77.37, p=0.002) and nothing said so. Here the same shape is
built twice: from output files (hermetic: the honest system's round trip loses some words, the
copier's copied segments come back untouched) and with Apertium, a real engine, taking the way back.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import pytest

from mtharness.cli import main as cli_main
from mtharness.cli.run import format_summary, run_from_config
from mtharness.core import MtharnessError
from mtharness.data.loaders import SAMPLE_DIR, load_sample
from mtharness.run.evaluate import evaluate
from mtharness.run.reader import read_run
from mtharness.run.record import RunRecord
from mtharness.run.writer import write_run
from mtharness.scoring.metrics import parse_specs
from mtharness.translators.apertium import ApertiumTranslator
from mtharness.translators.files import FilesTranslator
from mtharness.validity.notes import HOW_TO_READ, WarnRates, warn_rates
from tests.conftest import compose

LEAD = "copier's round-trip lead may come from copying its input (copy rate 0.10)"


def _lines(path: Path, lines: list[str]) -> str:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def _copying(texts: list[str], sources: list[str]) -> list[str]:
    """Every 10th segment replaced by its source: a copy rate of exactly 0.10 on the 150-line sample."""
    return [src if i % 10 == 0 else text for i, (text, src) in enumerate(zip(texts, sources, strict=True))]


def _run(translator: FilesTranslator, out: Path, validity: dict[str, Any] | None = None) -> Path:
    result = evaluate(
        load_sample(), translator, parse_specs(["chrf", "bleu"]), progress=False, validity=validity or {}
    )
    result.config = {"validity": validity or {}}
    write_run(result, out)
    return out


@pytest.fixture(scope="module")
def file_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """An honest system (Spanish output, a round trip that loses every 4th word) and a copier (the same,
    but 10% of its forward outputs are its English input, which come back untouched)."""
    tmp = tmp_path_factory.mktemp("copy10")
    sources = load_sample().sources
    spanish = (SAMPLE_DIR / "sample.es").read_text(encoding="utf-8").splitlines()
    lossy = [" ".join(w for j, w in enumerate(s.split()) if j % 4 != 3) for s in sources]
    files = {
        "honest": (spanish, lossy),
        "copier": (_copying(spanish, sources), _copying(lossy, sources)),
    }
    runs = {}
    for name, (forward, back) in files.items():
        translator = FilesTranslator(
            name,
            forward=_lines(tmp / f"{name}.es", forward),
            back=_lines(tmp / f"{name}.back.en", back),
            source=str(SAMPLE_DIR / "sample.en"),
        )
        runs[name] = _run(translator, tmp / "runs" / name)
    return runs


def _compare(runs: dict[str, Path], tmp: Path, capsys: Any, *flags: str) -> tuple[dict[str, Any], str]:
    out = tmp / "cmp.json"
    argv = ["compare", str(runs["honest"]), str(runs["copier"]), "--baseline", "honest", "--metrics", "chrf"]
    assert cli_main([*argv, "--paired-n", "500", "--ci-n", "200", "--json", str(out), *flags]) == 0
    return json.loads(out.read_text()), capsys.readouterr().out


def test_copying_round_trip_win_is_flagged(file_runs: dict[str, Path], tmp_path: Path, capsys: Any) -> None:
    doc, stdout = _compare(file_runs, tmp_path, capsys, "--html", str(tmp_path / "cmp.html"))
    rt = doc["directions"]["round_trip"]
    copier = rt["metrics"]["chrF2"]["systems"]["copier"]
    honest = rt["metrics"]["chrF2"]["systems"]["honest"]
    # the shape: the copier's round trip is significantly better than the honest system's
    assert copier["significant"] and copier["improved"] and copier["p_value"] < 0.01
    assert copier["score"] > honest["score"] + 1
    assert json.loads((file_runs["copier"] / "scores.json").read_text())["copy_rate"] == pytest.approx(0.1)
    lead = next(w for w in rt["warnings"] if LEAD in w)
    assert "significantly better than honest on round-trip chrF2" in lead and "p=0." in lead
    assert any(w.startswith("copier: copy rate 0.100") for w in rt["warnings"])
    assert "warnings" not in doc["directions"]["forward"]  # the forward comparison has references
    assert any("copier" in n and "copy rate 0.100" in n for n in doc["inputs"]["notes"])
    assert not any("honest" in n for n in doc["inputs"]["notes"])
    assert f"warning: {lead}" in stdout  # printed under the round-trip table
    assert LEAD in html.unescape((tmp_path / "cmp.html").read_text(encoding="utf-8"))


def test_warn_rate_flags_and_recorded_setting(
    file_runs: dict[str, Path], tmp_path: Path, capsys: Any
) -> None:
    doc, _ = _compare(file_runs, tmp_path, capsys, "--copy-warn", "0.2")
    # its copied segments are English: off target too, and that alone still explains the lead
    warnings = doc["directions"]["round_trip"]["warnings"]
    assert not any("copy rate" in w for w in warnings)
    assert any(
        "lead may come from output not in the target language (off-target rate 0.1" in w for w in warnings
    )
    doc, stdout = _compare(file_runs, tmp_path, capsys, "--copy-warn", "0.2", "--off-target-warn", "0.2")
    assert "warnings" not in doc["directions"]["round_trip"] and not doc["inputs"]["notes"]
    assert "warning:" not in stdout
    # a run that recorded validity.warn.copy_rate=0.2 is judged by its own setting
    copier = json.loads((file_runs["copier"] / "scores.json").read_text())
    copier["config"] = {"validity": {"warn": {"copy_rate": 0.2, "off_target_rate": 0.2}}}
    relaxed = tmp_path / "relaxed"
    relaxed.mkdir()
    for name in ("segments.jsonl",):
        (relaxed / name).write_bytes((file_runs["copier"] / name).read_bytes())
    (relaxed / "scores.json").write_text(json.dumps(copier))
    runs = {"honest": file_runs["honest"], "copier": relaxed}
    doc, _ = _compare(runs, tmp_path, capsys)
    assert not doc["inputs"]["notes"]
    doc, _ = _compare(runs, tmp_path, capsys, "--copy-warn", "0.05")  # the flag wins
    assert any(LEAD in w for w in doc["directions"]["round_trip"]["warnings"])


def test_forward_only_comparison_keeps_the_notes(file_runs: dict[str, Path], tmp_path: Path) -> None:
    """Without a round-trip comparison the run notes still say what the rates are."""
    argv = ["compare", str(file_runs["copier"]), str(file_runs["honest"]), "--metrics", "chrf", "--quiet"]
    out = tmp_path / "fwd.json"
    assert cli_main([*argv, "--direction", "forward", "--json", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert (
        any("copy rate 0.100" in n for n in doc["inputs"]["notes"])
        and "warnings" not in doc["directions"]["forward"]
    )


def test_report_and_run_summaries_say_it(file_runs: dict[str, Path], tmp_path: Path, capsys: Any) -> None:
    capsys.readouterr()
    summary = (file_runs["copier"] / "summary.md").read_text(encoding="utf-8")
    assert "copy rate 0.100 (**the system copies its input on 10% of the segments (warn rate 0.05)" in summary
    assert HOW_TO_READ in summary and "validity=full" in summary
    assert "copies its input" not in (file_runs["honest"] / "summary.md").read_text(encoding="utf-8")
    text = format_summary(read_run(file_runs["copier"]).record)
    assert "copy_rate  0.100  <- the system copies its input on 10% of the segments" in text
    assert "validity=full" in text
    assert (
        cli_main(["report", str(file_runs["copier"]), "--out", str(tmp_path / "r.html"), "--ci-n", "100"])
        == 0
    )
    assert "note: copy rate 0.100" in capsys.readouterr().out
    page = html.unescape((tmp_path / "r.html").read_text(encoding="utf-8"))
    assert "copies its input on 10% of the segments" in page and "off-target rate" in page


def test_warn_rate_settings_are_checked(tmp_path: Path) -> None:
    assert warn_rates({"warn": {"copy_rate": 0.2}}) == WarnRates(0.2, 0.05)
    assert warn_rates(None, copy=0.3, off_target=0.4) == WarnRates(0.3, 0.4)
    for bad, match in (
        ({"copy_rate": "abc"}, r"validity\.warn\.copy_rate='abc' must be a rate between 0 and 1"),
        ({"off_target_rate": 1.5}, r"validity\.warn\.off_target_rate=1\.5 must be a rate"),
        ({"copy": 0.1}, r"validity\.warn: unknown key\(s\) \['copy'\]"),
    ):
        with pytest.raises(MtharnessError, match=match):
            warn_rates({"warn": bad})
    cfg = compose(["translator=echo", "progress=false", "limit=5", "validity.warn.copy_rate=2"])
    with pytest.raises(MtharnessError, match=r"validity\.warn\.copy_rate=2 must be a rate"):
        run_from_config(cfg, tmp_path / "bad")
    assert not (tmp_path / "bad" / "scores.json").exists()  # refused before translating


def test_run_config_sets_the_warn_rate(tmp_path: Path) -> None:
    """echo copies everything: flagged at the default; at copy_rate=1.0 it is not above the rate."""
    cfg = compose(["translator=echo", "progress=false", "limit=5", "validity.langid.enabled=false"])
    payload = run_from_config(cfg, tmp_path / "default")
    assert "copies its input: its round-trip scores mean nothing" in format_summary(payload)
    cfg = compose(
        [
            "translator=echo",
            "progress=false",
            "limit=5",
            "validity.langid.enabled=false",
            "validity.warn.copy_rate=1.0",
        ]
    )
    payload = run_from_config(cfg, tmp_path / "relaxed")
    assert isinstance(payload, RunRecord)
    assert payload.config["validity"]["warn"] == {"copy_rate": 1.0, "off_target_rate": 0.05}
    assert "copies its input" not in format_summary(payload)
    assert "copies its input" not in (tmp_path / "relaxed" / "summary.md").read_text()


@pytest.mark.apertium
def test_apertium_copier_round_trip_lead(apertium: None, tmp_path: Path, capsys: Any) -> None:
    """Real engine: Apertium's own forward output, 10% of it replaced by the English source, Apertium
    back: the untranslated segments come back near-verbatim and lift the round trip."""
    honest = evaluate(load_sample(), ApertiumTranslator(), parse_specs(["chrf"]), progress=False, validity={})
    write_run(honest, tmp_path / "apertium")
    sources = load_sample().sources
    copier = FilesTranslator(
        "copier",
        forward=_lines(tmp_path / "copier.es", _copying(honest.forward.outputs, sources)),
        source=str(SAMPLE_DIR / "sample.en"),
        fallback=ApertiumTranslator(),
    )
    _run(copier, tmp_path / "copier")
    out = tmp_path / "cmp.json"
    argv = ["compare", str(tmp_path / "apertium"), str(tmp_path / "copier"), "--baseline", "apertium"]
    assert cli_main([*argv, "--metrics", "chrf", "--json", str(out)]) == 0
    rt = json.loads(out.read_text())["directions"]["round_trip"]
    assert rt["metrics"]["chrF2"]["systems"]["copier"]["improved"]
    assert any(LEAD in w for w in rt["warnings"]), rt.get("warnings")
    assert LEAD in capsys.readouterr().out


def test_human_scores_need_the_forward_comparison(
    file_runs: dict[str, Path], tmp_path: Path, capsys: Any
) -> None:
    """Human scores judge translations: with the round trip alone, --human is one line, exit 2."""
    human = tmp_path / "human.tsv"
    human.write_text("honest\t1.0\ncopier\t0.5\n", encoding="utf-8")
    out = tmp_path / "rt.json"
    argv = ["compare", str(file_runs["copier"]), str(file_runs["honest"]), "--metrics", "chrf", "--quiet"]
    code = cli_main([*argv, "--direction", "round_trip", "--human", str(human), "--json", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and "--human needs a forward comparison" in err and "Traceback" not in err
    assert not out.exists()
