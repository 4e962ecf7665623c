"""MetricX (lower is better) through compare, gate and leaderboard on real runs scored with the tiny
checkpoint (scripts/make_tiny_metricx.py): ranked lowest first, a rise is a drop for the gate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import REPO, run_cli
from tests.helpers.installed import require

require("transformers")
pytestmark = [pytest.mark.hf, pytest.mark.slow]  # a checkpoint build and two runs with a model, ~50 s
SAMPLE = REPO / "src" / "mtharness" / "data" / "sample"
N = 8


@pytest.fixture(scope="module")
def mx_runs(tmp_path_factory: pytest.TempPathFactory, tiny_metricx: Path) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("mx_views")
    lines = {n: (SAMPLE / f"sample.{n}").read_text(encoding="utf-8").splitlines()[:N] for n in ("en", "es")}
    (root / "back.en").write_text("\n".join(lines["en"]) + "\n", encoding="utf-8")
    runs = {}
    for name, forward in (("ref", lines["es"]), ("copy", lines["en"])):
        (root / f"{name}.es").write_text("\n".join(forward) + "\n", encoding="utf-8")
        out = root / "board" / name
        proc = run_cli(
            [
                "run",
                "translator=files",
                f"translator.forward={root / f'{name}.es'}",
                f"translator.back={root / 'back.en'}",
                f"translator.name={name}",
                f"limit={N}",
                "progress=false",
                "metrics=[chrf,metricx]",
                f"metrics.metricx.model={tiny_metricx / 'model'}",
                f"metrics.metricx.tokenizer={tiny_metricx / 'tokenizer'}",
                "validity.langid.enabled=false",
                "cache.enabled=false",
                f"hydra.run.dir={out}",
            ],
            cwd=root,
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
        runs[name] = out
    return runs


def _metricx(run: Path) -> float:
    return float(json.loads((run / "scores.json").read_text())["scores"]["forward"]["MetricX"]["score"])


def test_compare_gate_and_leaderboard_read_metricx_lower_is_better(mx_runs: dict[str, Path]) -> None:
    root = mx_runs["ref"].parents[1]
    better, worse = sorted(mx_runs, key=lambda n: _metricx(mx_runs[n]))
    rise = _metricx(mx_runs[worse]) - _metricx(mx_runs[better])
    assert rise > 0
    proc = run_cli(
        [
            "compare",
            *(str(r) for r in mx_runs.values()),
            "--baseline",
            worse,
            "--metrics",
            "metricx",
            "--ci-n",
            "200",
            "--paired-n",
            "200",
            "--json",
            "-",
            "--quiet",
        ],
        cwd=root,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    forward = json.loads(proc.stdout)["directions"]["forward"]
    mx = forward["metrics"]["MetricX"]
    assert mx["higher_is_better"] is False and forward["systems"] == [better, worse]
    assert mx["systems"][better]["delta"] == pytest.approx(-rise, abs=1e-3)
    assert "p_value" in mx["systems"][better] and mx["test_signature"].endswith("|bs:200|seed:12345")
    ci = mx["systems"][better]["ci"]
    assert ci["low"] <= _metricx(mx_runs[better]) <= ci["high"]
    for name in mx_runs:
        saved = run_cli(["baseline", "save", str(mx_runs[name]), str(root / f"{name}.json"), "--force"], root)
        assert saved.returncode == 0, saved.stderr[-2000:]

    def gate(base: str, cur: str, limit: float) -> tuple[int, str]:
        proc = run_cli(
            [
                "gate",
                "--baseline",
                str(root / f"{base}.json"),
                "--current",
                str(mx_runs[cur]),
                "--max-drop",
                f"metricx={limit}",
                "--max-drop",
                "copy_rate=1",
            ],
            root,
        )
        return proc.returncode, proc.stdout + proc.stderr

    code, out = gate(better, worse, rise / 2)  # MetricX rose by more than allowed
    assert code == 1 and "forward.MetricX max_drop" in out, out
    code, out = gate(better, worse, rise * 2 + 0.5)
    assert "FAIL" not in out.split("forward.MetricX", 1)[1].splitlines()[0], out
    code, out = gate(worse, better, 0.0)  # MetricX fell: better, passes at any limit
    assert "PASS" in out.split("forward.MetricX", 1)[1].splitlines()[0], out
    board = run_cli(["leaderboard", str(root / "board"), "--ci-n", "0"], root)
    assert board.returncode == 0, board.stderr[-2000:]
    md = (root / "board" / "leaderboard.md").read_text(encoding="utf-8")
    assert "fwd MetricX ↓" in md
