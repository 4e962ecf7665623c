"""Ranking with WMT-style significance clusters and the full pairwise p-value matrix."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from mtharness.cli import main as cli_main
from mtharness.compare.clusters import clusters_from
from mtharness.scoring.metrics import parse_specs
from mtharness.scoring.significance import paired_test, system_stats
from mtharness.textio import read_lines


def test_clusters_walk_the_ranking_from_each_cluster_head() -> None:
    p = {
        ("A", "B"): 0.3,
        ("A", "C"): 0.01,
        ("B", "C"): 0.2,
        ("C", "D"): 0.5,
        ("A", "D"): 0.001,
        ("B", "D"): 0.01,
    }

    def pv(a: str, b: str) -> float:
        return p.get((a, b), p.get((b, a), 1.0))

    # C is not different from B, but it is from A, the head of the first cluster: C opens cluster 2
    assert clusters_from(["A", "B", "C", "D"], pv, 0.05) == [["A", "B"], ["C", "D"]]
    assert clusters_from(["A"], pv, 0.05) == [["A"]]


@pytest.mark.shared_data
@pytest.mark.slow
def test_wmt23_clusters_agree_with_the_pairwise_matrix(wmt23: Path, tmp_path: Path) -> None:
    folder = wmt23 / "en-de"
    systems = sorted(str(p) for p in (folder / "systems").glob("*.de"))
    out = tmp_path / "cmp.json"
    argv = ["compare", "--src", str(folder / "src.en"), "--refs", str(folder / "ref.A.de")]
    argv += ["--systems", *systems, "--metrics", "chrf", "bleu", "--json", str(out), "--quiet"]
    assert cli_main(argv) == 0
    fwd = json.loads(out.read_text())["directions"]["forward"]
    assert fwd["baseline"] is None and fwd["ranked_by"] == "chrF2"
    chrf = fwd["metrics"]["chrF2"]
    scores = [chrf["systems"][s]["score"] for s in fwd["systems"]]
    assert scores == sorted(scores, reverse=True)  # best first
    matrix, alpha = chrf["pairwise"], 0.05
    clusters = [c["systems"] for c in chrf["clusters"]]
    assert [s for c in clusters for s in c] == fwd["systems"]
    for members in clusters:  # every member is indistinguishable from its cluster's head
        assert all(matrix[members[0]][m] >= alpha for m in members[1:])
    for upper, lower in itertools.pairwise(clusters):  # edges between clusters differ
        assert matrix[upper[0]][lower[0]] < alpha
        assert matrix[upper[-1]][lower[0]] < alpha or matrix[upper[0]][lower[0]] < alpha
    for a in fwd["systems"]:
        for b in fwd["systems"]:
            assert matrix[a][b] == matrix[b][a]
    # one cell re-computed on its own: the matrix is the paired test of the two systems
    a, b = fwd["systems"][1], fwd["systems"][2]
    refs = [read_lines(folder / "ref.A.de")]
    paths = {Path(p).name[: -len(".de")]: p for p in systems}
    spec = parse_specs(["chrf"])[0]
    sa, sb = (system_stats(spec, read_lines(paths[s]), refs, "de", s) for s in (a, b))
    direct = paired_test(sa, sb, "bs", 1000, 12345)
    assert matrix[a][b] == pytest.approx(round(direct.p_value, 4))
    assert chrf["systems"][a]["rank"] and chrf["systems"][a]["cluster"] >= 1
