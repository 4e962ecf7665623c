"""Segment-level human judgments: level recognition, and correlations equal to an independent scipy run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sacrebleu.metrics import BLEU, CHRF

from mtharness.cli import main as cli_main
from mtharness.compare.human.segments import read_human_scores
from mtharness.core import MtharnessError
from mtharness.textio import read_lines

N = 120  # the first 120 WMT23 en-de paragraphs keep the test quick


def _write(path: Path, lines: list[str]) -> str:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def test_levels_are_recognised(tmp_path: Path) -> None:
    sys_file = _write(tmp_path / "sys.tsv", ["A\t1.5", "B\t0.5", "C\tNone"])
    got = read_human_scores(sys_file, n_segments=3)
    assert got.level == "system" and got.system == {"A": 1.5, "B": 0.5}
    seg_file = _write(tmp_path / "seg.score", ["A\t1", "A\tNone", "B\t2", "B\t3"])
    got = read_human_scores(seg_file, n_segments=2)
    assert got.level == "segment" and got.segment == {"A": [1.0, None], "B": [2.0, 3.0]}
    table = _write(tmp_path / "table.tsv", ["system\tsegment\tscore", "A\t2\t-1", "B\t1\t-5", "A\t1\t0"])
    got = read_human_scores(table, n_segments=2)
    assert got.level == "segment" and got.segment == {"A": [0.0, -1.0], "B": [-5.0, None]}


def test_wrong_level_and_ambiguous_files_are_refused(tmp_path: Path) -> None:
    seg_file = _write(tmp_path / "seg.score", ["A\t1", "A\t2", "B\t2", "B\t3"])
    with pytest.raises(MtharnessError, match="system names repeat"):
        read_human_scores(seg_file, n_segments=2, level="system")
    with pytest.raises(MtharnessError, match="ambiguous level"):
        read_human_scores(seg_file, n_segments=5)  # blocks of 2, but 5 segments
    uneven = _write(tmp_path / "uneven.score", ["A\t1", "A\t2", "B\t2"])
    with pytest.raises(MtharnessError, match="ambiguous level"):
        read_human_scores(uneven, n_segments=2)
    sys_file = _write(tmp_path / "sys.tsv", ["A\t1", "B\t2"])
    with pytest.raises(MtharnessError, match="system scores, not segment scores"):
        read_human_scores(sys_file, n_segments=2, level="segment")
    bad = _write(tmp_path / "bad.tsv", ["A\t1\t0.5", "A\t9\t0.1"])
    with pytest.raises(MtharnessError, match="line 2: segment '9'"):
        read_human_scores(bad, n_segments=2)
    with pytest.raises(MtharnessError, match="'x' is not a number"):
        read_human_scores(_write(tmp_path / "nan.tsv", ["A\t1", "B\tx"]), n_segments=2)


@pytest.fixture
def wmt_subset(wmt23: Path, tmp_path: Path) -> dict[str, object]:
    """The first N en-de paragraphs: source, reference, systems, MQM segment scores, domains."""
    folder = wmt23 / "en-de"
    total = len(read_lines(folder / "src.en"))
    systems = {}
    for path in sorted((folder / "systems").glob("*.de")):
        systems[path.stem] = read_lines(path)[:N]
        _write(tmp_path / path.name, systems[path.stem])
    human: dict[str, list[float | None]] = {}
    seg_lines = read_lines(folder / "human" / "mqm.seg.score")
    for i in range(0, len(seg_lines), total):  # blocks of `total` lines, one per system
        block = seg_lines[i : i + total][:N]
        name = block[0].split("\t")[0]
        human[name] = [None if v == "None" else float(v) for v in (line.split("\t")[1] for line in block)]
    _write(
        tmp_path / "mqm.seg.score",
        [f"{s}\t{'None' if v is None else v}" for s, vals in human.items() for v in vals],
    )
    return {
        "src": _write(tmp_path / "src.en", read_lines(folder / "src.en")[:N]),
        "ref": _write(tmp_path / "ref.de", read_lines(folder / "ref.A.de")[:N]),
        "refs": read_lines(folder / "ref.A.de")[:N],
        "domains": _write(tmp_path / "docids.tsv", read_lines(folder / "docids.tsv")[:N]),
        "systems": systems,
        "system_files": [str(tmp_path / f"{s}.de") for s in systems],
        "human": human,
        "human_file": str(tmp_path / "mqm.seg.score"),
    }


def _independent(metric: list[list[float]], human: list[list[float | None]]) -> dict[str, float]:
    """mt-metrics-eval's groupings written out directly with scipy (systems x segments)."""
    from scipy import stats as sps  # when the test runs: collection stays light

    pairs = [
        (m, h)
        for ms, hs in zip(metric, human, strict=True)
        for m, h in zip(ms, hs, strict=True)
        if h is not None
    ]
    x, y = [p[0] for p in pairs], [p[1] for p in pairs]
    item_p, item_k = [], []
    for i in range(len(metric[0])):
        col = [(metric[s][i], human[s][i]) for s in range(len(metric)) if human[s][i] is not None]
        xs, ys = [c[0] for c in col], [c[1] for c in col]
        if len(col) >= 2 and len(set(xs)) > 1 and len(set(ys)) > 1:
            item_p.append(sps.pearsonr(xs, ys)[0])
            item_k.append(sps.kendalltau(xs, ys)[0])
    return {
        "no_p": sps.pearsonr(x, y)[0],
        "no_k": sps.kendalltau(x, y)[0],
        "item_p": float(np.mean(item_p)),
        "item_k": float(np.mean(item_k)),
    }


@pytest.mark.shared_data
def test_wmt23_segment_correlations_equal_scipy(wmt_subset: dict, tmp_path: Path) -> None:  # type: ignore[type-arg]
    out = tmp_path / "cmp.json"
    argv = [
        "compare",
        "--src",
        wmt_subset["src"],
        "--refs",
        wmt_subset["ref"],
        "--systems",
        *wmt_subset["system_files"],
    ]
    argv += [
        "--metrics",
        "chrf",
        "bleu",
        "--human",
        wmt_subset["human_file"],
        "--domains",
        wmt_subset["domains"],
    ]
    html = tmp_path / "cmp.html"
    argv += ["--paired", "none", "--ci-n", "200", "--json", str(out), "--html", str(html), "--quiet"]
    assert cli_main(argv) == 0
    human_json = json.loads(out.read_text())["directions"]["forward"]["human"]
    # the HTML report shows the same segment-level and per-domain figures as the JSON
    page = html.read_text(encoding="utf-8")
    assert 'id="human-segments"' in page and 'id="human-domains"' in page
    for c in human_json["segment_level"]:
        assert f"{c['item_grouping']['pearson']:.3f}" in page and f"{c['no_grouping']['kendall']:.3f}" in page
        for domain, d in c["per_domain"].items():
            assert f'<td>{domain}</td><td class="num">{d["n_segments"]}</td>' in page
    assert human_json["level"] == "segment"
    seg = {c["metric"]: c for c in human_json["segment_level"]}
    names = list(wmt_subset["systems"])
    refs = wmt_subset["refs"]
    human = [wmt_subset["human"][s] for s in names]
    for name, metric in (("chrF2", CHRF()), ("BLEU", BLEU(effective_order=True))):
        scores = [
            [metric.sentence_score(h, [r]).score for h, r in zip(wmt_subset["systems"][s], refs, strict=True)]
            for s in names
        ]
        want = _independent(scores, human)
        got = seg[name]
        assert got["no_grouping"]["pearson"] == pytest.approx(want["no_p"], abs=1e-4)
        assert got["no_grouping"]["kendall"] == pytest.approx(want["no_k"], abs=1e-4)
        assert got["item_grouping"]["pearson"] == pytest.approx(want["item_p"], abs=1e-4)
        assert got["item_grouping"]["kendall"] == pytest.approx(want["item_k"], abs=1e-4)
        assert set(got["per_domain"]) <= {"news", "social", "speech", "user_review"} and got["per_domain"]
    # system level: each system's mean MQM against the corpus score, with a bootstrap interval
    corr = {c["metric"]: c for c in human_json["correlations"]}["chrF2"]
    assert corr["n_systems"] == 8 and corr["ci"]["pearson"][0] <= corr["pearson"] <= corr["ci"]["pearson"][1]


@pytest.mark.shared_data
def test_segment_file_as_system_level_is_exit_2(wmt_subset: dict, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[type-arg]
    argv = ["compare", "--refs", wmt_subset["ref"], "--systems", *wmt_subset["system_files"][:3]]
    argv += ["--metrics", "chrf", "--human", wmt_subset["human_file"], "--human-level", "system", "--quiet"]
    assert cli_main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "system names repeat" in err[0]
