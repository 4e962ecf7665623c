"""`mtharness compare` on real WMT23 systems: scores equal sacrebleu's, outputs in every format,
multiple references, and correlation with the shipped human scores equal to scipy's."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from sacrebleu.metrics import BLEU, CHRF

from mtharness.cli import main as cli_main
from mtharness.compare.human.system import correlate, pairwise_accuracy, read_human
from mtharness.textio import read_lines

SYSTEMS = ["ONLINE-B", "GPT4-5shot", "NLLB_Greedy"]


def test_compare_files_equal_sacrebleu_in_every_format(wmt23: Path, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    d = wmt23 / "en-de"
    systems = [str(d / "systems" / f"{s}.de") for s in SYSTEMS]
    out = {fmt: tmp_path / f"out.{fmt}" for fmt in ("json", "csv", "md", "tex")}
    argv = ["compare", "--src", str(d / "src.en"), "--refs", str(d / "ref.A.de"), "--systems", *systems]
    argv += ["--trg-lang", "de", "--baseline", "GPT4-5shot", "--metrics", "bleu", "chrf", "--paired", "bs"]
    argv += ["--seed", "7", "--json", str(out["json"]), "--csv", str(out["csv"]), "--analysis"]
    argv += ["--markdown", str(out["md"]), "--latex", str(out["tex"])]
    assert cli_main(argv) == 0
    table = capsys.readouterr().out
    assert "GPT4-5shot" in table and "nrefs:1|case:mixed|eff:no|tok:13a" in table

    doc = json.loads(out["json"].read_text())
    assert doc["paired"] == {"method": "bs", "n_samples": 1000, "seed": 7, "alpha": 0.05}
    fwd = doc["directions"]["forward"]
    assert fwd["systems"][0] == "GPT4-5shot" and fwd["baseline"] == "GPT4-5shot"
    refs = [read_lines(d / "ref.A.de")]
    for name in SYSTEMS:
        hyps = read_lines(d / "systems" / f"{name}.de")
        for metric, key in ((BLEU(), "BLEU"), (CHRF(), "chrF2")):
            want = metric.corpus_score(hyps, refs)
            got = fwd["metrics"][key]["systems"][name]
            assert got["score"] == pytest.approx(want.score, abs=1e-4)
            assert fwd["metrics"][key]["signature"] == metric.get_signature().format()
            assert "|bs:1000|seed:7|" in fwd["metrics"][key]["test_signature"]
            assert got["ci"]["low"] < got["score"] < got["ci"]["high"]
            assert ("p_value" in got) == (name != "GPT4-5shot")
    assert fwd["metrics"]["chrF2"]["systems"]["NLLB_Greedy"]["significant"] is True
    analysis = fwd["analysis"]
    assert sum(b["n"] for b in analysis["length_buckets"]["BLEU"]) == 557
    wl = analysis["wins_losses"]["NLLB_Greedy"]
    assert wl["wins"] + wl["losses"] + wl["ties"] == 557 and wl["losses"] > wl["wins"]

    rows = list(csv.DictReader(out["csv"].open()))
    assert len(rows) == 2 * len(SYSTEMS) and {r["seed"] for r in rows} == {"7"}
    assert "| NLLB_Greedy |" in out["md"].read_text()
    tex = out["tex"].read_text()
    assert r"NLLB\_Greedy" in tex and r"\begin{tabular}{lrr}" in tex


def test_multiple_references(wmt23: Path, tmp_path: Path) -> None:
    d = wmt23 / "en-de"
    n = 60
    ref_a = read_lines(d / "ref.A.de")[:n]
    ref_b = read_lines(d / "systems" / "ONLINE-W.de")[:n]  # a second, independent translation
    hyps = {s: read_lines(d / "systems" / f"{s}.de")[:n] for s in SYSTEMS[:2]}
    paths = []
    for name, lines in [("ref.A", ref_a), ("ref.B", ref_b), *hyps.items()]:
        p = tmp_path / f"{name}.de"
        p.write_text("\n".join(lines) + "\n", encoding="utf-8")
        paths.append(str(p))
    out = tmp_path / "multi.json"
    argv = ["compare", "--refs", paths[0], paths[1], "--systems", *paths[2:], "--metrics", "bleu", "chrf"]
    assert (
        cli_main([*argv, "--paired", "ar", "--paired-n", "300", "--jobs", "2", "--json", str(out), "--quiet"])
        == 0
    )
    fwd = json.loads(out.read_text())["directions"]["forward"]
    for metric, key in ((BLEU(), "BLEU"), (CHRF(), "chrF2")):
        for name, lines in hyps.items():
            want = metric.corpus_score(lines, [ref_a, ref_b])
            assert fwd["metrics"][key]["systems"][name]["score"] == pytest.approx(want.score, abs=1e-4)
        assert "nrefs:2" in fwd["metrics"][key]["signature"]


def test_human_correlation_equals_scipy(wmt23: Path, tmp_path: Path) -> None:
    from scipy import stats as sps  # when the test runs: collection stays light

    d = wmt23 / "en-de"
    names = sorted(p.name[:-3] for p in (d / "systems").glob("*.de"))
    out = tmp_path / "human.json"
    argv = [
        "compare",
        "--refs",
        str(d / "ref.A.de"),
        "--systems",
        *[str(d / "systems" / f"{n}.de") for n in names],
    ]
    argv += [
        "--metrics",
        "chrf",
        "--paired",
        "none",
        "--ci-n",
        "50",
        "--human",
        str(d / "human" / "mqm.sys.score"),
    ]
    assert cli_main([*argv, "--json", str(out), "--quiet"]) == 0
    fwd = json.loads(out.read_text())["directions"]["forward"]
    corr = fwd["human"]["correlations"][0]
    # the chrF scores themselves equal sacrebleu's (test above); correlate them with scipy directly
    chrf = {n: fwd["metrics"]["chrF2"]["systems"][n]["score"] for n in names}

    mqm = dict(line.split("\t") for line in (d / "human" / "mqm.sys.score").read_text().splitlines())
    m = [chrf[n] for n in names]
    h = [float(mqm[n]) for n in names]
    assert corr["n_systems"] == 8
    assert corr["pearson"] == pytest.approx(sps.pearsonr(m, h)[0], abs=1e-4)
    assert corr["spearman"] == pytest.approx(sps.spearmanr(m, h)[0], abs=1e-4)
    assert corr["kendall"] == pytest.approx(sps.kendalltau(m, h)[0], abs=1e-4)
    assert corr["pearson"] > 0 and corr["kendall"] > 0
    assert "refA" in corr["missing_in_metric"] and corr["missing_in_human"] == []

    # the WMT results table (header, raw_mean column); Human-refA is not among our systems
    da = read_human(d / "human" / "da-sqm.results.sys.tsv")
    res = correlate("chrF2", chrf, da)
    h_da = [da[n] for n in names]
    assert res.pearson == pytest.approx(sps.pearsonr(m, h_da)[0]) and res.pearson > 0
    assert res.spearman == pytest.approx(sps.spearmanr(m, h_da)[0])
    assert "Human-refA" in res.missing_in_metric


def test_human_readers_and_pairwise_accuracy(tmp_path: Path) -> None:
    tsv = tmp_path / "h.tsv"
    tsv.write_text("system\tscore\nA\t3\nB\t2\nC\tNone\nD\t1\n", encoding="utf-8")
    human = read_human(tsv)
    assert human == {"A": 3.0, "B": 2.0, "D": 1.0}
    # TER-like metric: lower is better, so it is negated and agrees perfectly here
    res = correlate("TER", {"A": 10.0, "B": 20.0, "D": 30.0, "E": 5.0}, human, higher_is_better=False)
    assert res.missing_in_human == ["E"] and res.n_systems == 3
    assert res.pearson == pytest.approx(1.0) and res.pairwise_accuracy == 1.0
    assert pairwise_accuracy([1, 2, 3], [3, 2, 1]) == 0.0
    assert pairwise_accuracy([1, 2], [5, 5]) is None  # humans tie: nothing to rank
