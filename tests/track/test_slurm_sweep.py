"""A sweep through the real one-node SLURM cluster (scripts/slurm_local.sh): every job (a separate
SLURM process) nests under the one MLflow parent the submitting process made, the sweep ends in
one table across its jobs, and compare / leaderboard / rtt-correlation take the sweep folder.

The cluster is started here when it is down and never stopped: other sessions may be using it.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO, run_cli

pytestmark = [pytest.mark.slurm, pytest.mark.slow]

SCRIPT = REPO / "scripts" / "slurm_local.sh"


def _script(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, timeout=240, check=False)


@pytest.fixture(scope="module")
def slurm_env() -> dict[str, str]:
    if _script("status").returncode != 0:
        proc = _script("start")
        if proc.returncode != 0:
            reason = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            pytest.skip(f"no one-node SLURM cluster ({SCRIPT.name} start: {reason})")
    conf = _script("env").stdout.strip().split("=", 1)[1]
    return {"SLURM_CONF": conf, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)])}


def test_slurm_sweep_nests_under_one_parent_and_ends_in_a_table(
    slurm_env: dict[str, str], apertium: None, tmp_path: Path
) -> None:
    pytest.importorskip("mlflow", reason="the track extra (mlflow) is not installed")
    sweep = tmp_path / "sweep"
    db = tmp_path / "mlflow.db"
    args = [
        "run",
        "-m",
        "hydra/launcher=submitit_slurm",
        "hydra.launcher.timeout_min=5",
        "progress=false",
        "translator=echo,apertium",
        "translator.name=a,b",
        "limit=10",
        f"results_dir={tmp_path / 'results'}",
        f"hydra.sweep.dir={sweep}",
        "tracker=mlflow",
        f"tracker.uri=sqlite:///{db}",
        "tracker.ci_n=0",
    ]
    proc = run_cli(args, cwd=tmp_path, env=slurm_env, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert f"Sweep {sweep}: 4 jobs" in proc.stdout
    table = json.loads((sweep / "sweep.json").read_text())
    assert [j["status"] for j in table["jobs"]] == ["finished"] * 4
    assert table["jobs"][0]["label"] == "translator=echo translator.name=a"

    from mlflow import MlflowClient

    client = MlflowClient(f"sqlite:///{db}")
    exp = client.get_experiment_by_name("mtharness")
    runs = client.search_runs([exp.experiment_id])
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    assert len(parents) == 1 and len(children) == 4
    assert {c.data.tags["mlflow.parentRunId"] for c in children} == {parents[0].info.run_id}
    for child in children:
        doc = json.loads((Path(child.data.tags["mtharness.run_dir"]) / "scores.json").read_text())
        assert child.data.metrics["round_trip.chrF2"] == doc["scores"]["round_trip"]["chrF2"]["score"]

    for command in (["compare", str(sweep), "--quiet"], ["leaderboard", str(sweep), "--ci-n", "0"]):
        done = run_cli(command, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
    rtt = run_cli(["rtt-correlation", str(sweep), "--json", str(tmp_path / "rtt.json")], cwd=tmp_path)
    assert rtt.returncode == 0, rtt.stderr
    assert len(json.loads((tmp_path / "rtt.json").read_text())["systems"]) == 4
