"""`mtharness compare` on plain files with --xcomet-model, end to end through the console script: each
system's xCOMET score is what the scorer gives it alone, and xCOMET's spans become the comparison's
MQM-style error tables (``directions.forward.error_spans.xCOMET``), as for run folders.

The environment and checkpoint are the session's (tests/helpers/comet_fixtures.py: the managed COMET
environment and the tiny random-init XCOMET); the inputs are a handful of segments.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mtharness.compare.error_spans import SEVERITIES
from mtharness.scoring.comet.cache import CometCache
from mtharness.scoring.comet.metric import CometConfig
from mtharness.scoring.comet.xcomet import XCometScorer
from tests.conftest import run_cli
from tests.scoring.test_xcomet import texts

N = 5


@pytest.mark.comet
def test_compare_files_with_xcomet_model(tiny_xcomet: Path, tmp_path: Path) -> None:
    src, ref, hyp = texts(N)
    systems = {"a": hyp, "b": [s.upper() for s in src]}
    (tmp_path / "src.en").write_text("\n".join(src) + "\n", encoding="utf-8")
    (tmp_path / "ref.es").write_text("\n".join(ref) + "\n", encoding="utf-8")
    for name, lines in systems.items():
        (tmp_path / f"{name}.es").write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "cmp.json"
    proc = run_cli(
        [
            "compare",
            "--src",
            str(tmp_path / "src.en"),
            "--refs",
            str(tmp_path / "ref.es"),
            "--systems",
            str(tmp_path / "a.es"),
            str(tmp_path / "b.es"),
            "--metrics",
            "bleu",
            "xcomet",
            "--xcomet-model",
            str(tiny_xcomet),
            "--cache-dir",
            str(tmp_path / "cache"),
            "--json",
            str(out),
            "--sentence-level",
            str(tmp_path / "seg.tsv"),
        ],
        tmp_path,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "xCOMET" in proc.stdout
    fwd = json.loads(out.read_text(encoding="utf-8"))["directions"]["forward"]
    got = fwd["metrics"]["xCOMET"]["systems"]

    # each system alone through the scorer (its own cache: nothing shared with the comparison)
    cache = CometCache(tmp_path / "alone")
    with XCometScorer(CometConfig("xcomet", str(tiny_xcomet), batch_size=4), cache) as scorer:
        alone = {}
        for name, lines in systems.items():
            result, segments = scorer.score(src, lines, ref)
            alone[name] = (result.score, segments, scorer.spans())
    cache.close()
    # compare writes scores at the metric's precision (4 decimals): equal to the scorer's, so rounded
    assert set(got) == set(systems)
    rows = [line.split("\t") for line in (tmp_path / "seg.tsv").read_text().splitlines()]
    column = rows[0].index("xCOMET")
    for name, (score, segments, _) in alone.items():
        assert got[name]["score"] == round(score, 4), name
        assert [float(r[column]) for r in rows[1:] if r[2] == name] == [round(x, 4) for x in segments]

    table = fwd["error_spans"]["xCOMET"]
    assert table["severities"][:3] == list(SEVERITIES)
    for name, (_, _, spans) in alone.items():
        row = table["systems"][name]
        severity: dict[str, int] = {}
        for segment in spans:
            for span in segment:
                severity[span["severity"]] = severity.get(span["severity"], 0) + 1
        assert row["segments"] == N and row["by_severity"] == severity, name
        assert row["errors"] == sum(severity.values())
        assert set(row["per_100_segments"]) == {"errors", "by_severity", "by_category"}
    assert sum(table["systems"][name]["errors"] for name in systems) > 0  # the tiny model tags spans
    assert [d["systems"] for d in table["differences"]] in (
        [["a", "b"]],
        [["b", "a"]],
    )  # against the best system
