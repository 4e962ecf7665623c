"""`mtharness meta-eval` as a user runs it: files or run folders in, tables/JSON/markdown/HTML out,
and bad input as one line and exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mtharness.cli import main as cli_main
from mtharness.data.loaders import SAMPLE_DIR, load_sample
from mtharness.run.evaluate import evaluate
from mtharness.run.writer import write_run
from mtharness.scoring.metrics import parse_specs
from mtharness.translators.files import FilesTranslator
from tests.conftest import run_cli

SYSTEMS = {"keep1": 0, "drop5": 5, "drop3": 3, "drop2": 2}  # drop every n-th word (0: none)


def _drop(text: str, every: int) -> str:
    return " ".join(w for j, w in enumerate(text.split(), 1) if not every or j % every)


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Four systems losing more and more words of the Spanish reference; a human MQM-like score per
    segment (minus the words lost, one segment left unannotated per system)."""
    tmp = tmp_path_factory.mktemp("meta_cli")
    ref = (SAMPLE_DIR / "sample.es").read_text(encoding="utf-8").splitlines()
    out = {"ref": _write(tmp / "ref.es", ref)}
    rows = []
    for name, every in SYSTEMS.items():
        hyps = [_drop(r, every) for r in ref]
        out[name] = _write(tmp / f"{name}.es", hyps)
        for i, (h, r) in enumerate(zip(hyps, ref, strict=True)):
            rows.append(f"{name}\t{'None' if i == 7 else len(h.split()) - len(r.split())}")
    out["seg"] = _write(tmp / "mqm.seg.score", rows)
    out["sys"] = _write(tmp / "mqm.sys.score", [f"{n}\t{-1 / e if e else 0.0}" for n, e in SYSTEMS.items()])
    return out


def _args(files: dict[str, Path], *names: str) -> list[str]:
    systems = [str(files[n]) for n in (names or SYSTEMS)]
    return ["meta-eval", "--refs", str(files["ref"]), "--systems", *systems]


def test_files_json_to_stdout_markdown_and_html(files: dict[str, Path], tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    md, page = tmp_path / "meta.md", tmp_path / "meta.html"
    argv = [*_args(files), "--human", str(files["seg"]), "--permutations", "50", "--json", "-"]
    assert cli_main([*argv, "--markdown", str(md), "--html", str(page)]) == 0
    captured = capsys.readouterr()
    doc = json.loads(captured.out)  # stdout is pure JSON; the tables went to stderr
    assert "System level: 4 systems" in captured.err and "Segment level, grouping item" in captured.err
    assert doc["human"]["missing_segment_scores"] == 4 and doc["settings"]["permutations"] == 50
    pearson = next(t for t in doc["tables"] if (t["level"], t["statistic"]) == ("system", "pearson"))
    assert pearson["metrics"]["chrF2"]["value"] > 0.9 and pearson["ranking"]["ranks"]["chrF2"] == 1
    acc = next(t for t in doc["tables"] if (t["statistic"], t["grouping"]) == ("acc_eq", "item"))
    assert acc["tested"] and all("epsilon" in row for row in acc["metrics"].values())
    assert "| metric | Pearson |" in md.read_text(encoding="utf-8")
    text = page.read_text(encoding="utf-8")
    assert text.count("<img") == 2 and "data:image/png;base64," in text  # a scatter per metric


def test_system_level_file_gives_system_statistics_only(files: dict[str, Path], capsys) -> None:  # type: ignore[no-untyped-def]
    assert (
        cli_main(
            [*_args(files), "--human", str(files["sys"]), "--json", "-", "--quiet", "--permutations", "50"]
        )
        == 0
    )
    doc = json.loads(capsys.readouterr().out)
    assert {t["level"] for t in doc["tables"]} == {"system"}
    assert "soft_pairwise_accuracy" not in {t["statistic"] for t in doc["tables"]}  # needs segment scores
    spearman = next(t for t in doc["tables"] if t["statistic"] == "spearman")
    assert spearman["metrics"]["chrF2"]["value"] == pytest.approx(1.0)


def test_round_trip_metrics_are_candidates(files: dict[str, Path], tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    sources = load_sample().sources
    runs = []
    for name, every in SYSTEMS.items():
        back = _write(tmp_path / f"{name}.back.en", [_drop(s, every) for s in sources])
        translator = FilesTranslator(
            name, forward=str(files[name]), back=str(back), source=str(SAMPLE_DIR / "sample.en")
        )
        result = evaluate(load_sample(), translator, parse_specs(["chrf"]), progress=False, validity={})
        result.config = {}
        write_run(result, tmp_path / "runs" / name)
        runs.append(str(tmp_path / "runs" / name))
    argv = ["meta-eval", *runs, "--human", str(files["seg"]), "--permutations", "20"]  # the runs' metrics
    assert cli_main([*argv, "--json", "-", "--groupings", "item"]) == 0
    doc = json.loads(capsys.readouterr().out)
    names = {c["name"]: c["direction"] for c in doc["candidates"]}
    assert names == {"chrF2": "forward", "chrF2 (round trip)": "round_trip"}
    pearson = next(t for t in doc["tables"] if (t["level"], t["statistic"]) == ("system", "pearson"))
    assert pearson["metrics"]["chrF2 (round trip)"]["value"] > 0.9  # round trips lose words as the outputs do
    # compare's human block says which direction it correlated and why round trips are not in it
    assert (
        cli_main(
            [
                "compare",
                *runs,
                "--human",
                str(files["seg"]),
                "--metrics",
                "chrf",
                "--ci-n",
                "20",
                "--paired",
                "none",
            ]
        )
        == 0
    )
    text = capsys.readouterr().out
    assert f"Correlation with human scores ({files['seg']}), forward direction" in text
    assert "Segment-level correlation (Pearson, Kendall tau-b), forward direction" in text
    assert "note: round-trip scores are not in this block" in text and "mtharness meta-eval RUN..." in text


@pytest.mark.parametrize(
    ("case", "extra", "expected"),
    [
        ("one system", ["keep1"], "needs at least 3 systems"),
        ("segment counts", ["keep1", "drop5", "short"], "line counts differ"),
        (
            "system file as segments",
            ["--human-level", "segment", "--human", "sys"],
            "these are system scores",
        ),
        ("segment file as system", ["--human-level", "system", "--human", "seg"], "not a system-level file"),
        ("segments per system", ["--human", "odd"], "ambiguous level"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    files: dict[str, Path], tmp_path: Path, case: str, extra: list[str], expected: str
) -> None:
    files = {**files, "short": _write(tmp_path / "short.es", ["uno", "dos"])}
    files["odd"] = _write(tmp_path / "odd.score", [f"{s}\t0" for s in SYSTEMS for _ in range(3)])
    names = [e for e in extra if e in files and not e.startswith("-") and e not in ("sys", "seg", "odd")]
    flags = [e if e not in ("sys", "seg", "odd") else str(files[e]) for e in extra if e not in names]
    human = [] if "--human" in flags else ["--human", str(files["seg"])]
    proc = run_cli([*_args(files, *names), *human, *flags, "--permutations", "0"], cwd=tmp_path)
    assert proc.returncode == 2, case
    assert proc.stderr.count("\n") == 1 and expected in proc.stderr and "Traceback" not in proc.stderr
    assert proc.stdout == ""
