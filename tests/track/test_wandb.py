"""tracker=wandb in offline mode: the run wandb writes, read back from its own records, holds the
run's metrics and config, no secret, and `mtharness track` does not log the folder twice."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.helpers.installed import require
from tests.track.helpers import SECRET_ENV, SENTINEL, expected_metrics, files_containing, scores
from tests.track.wandb_records import read_run

require("wandb", reason="the track extra (wandb) is not installed")
pytestmark = pytest.mark.slow  # a run plus wandb start-up: ~20 s here


@pytest.fixture
def wandb_env(tmp_path: Path) -> dict[str, str]:
    root = tmp_path / "wandb-home"
    return {
        "WANDB_MODE": "offline",
        "WANDB_DIR": str(root),
        "WANDB_CACHE_DIR": str(root / "cache"),
        "WANDB_DATA_DIR": str(root / "data"),
        "WANDB_CONFIG_DIR": str(root / "config"),
        **SECRET_ENV,
    }


def test_offline_run_holds_metrics_and_config_and_no_secret(
    tmp_path: Path, wandb_env: dict[str, str]
) -> None:
    run_dir = tmp_path / "run"
    args = [
        "run",
        "translator=echo",
        "limit=6",
        "progress=false",
        f"results_dir={tmp_path / 'results'}",
        f"hydra.run.dir={run_dir}",
        "tracker=wandb",
        "tracker.project=mtharness-test",
        f"+tracker.token={SENTINEL}",
    ]
    proc = run_cli(args, cwd=tmp_path, env=wandb_env)
    assert proc.returncode == 0, proc.stderr
    assert "tracker wandb: logged run" in proc.stderr
    (wandb_run,) = (Path(wandb_env["WANDB_DIR"]) / "wandb").glob("offline-run-*")
    logged = read_run(wandb_run)
    for name, value in expected_metrics(run_dir).items():
        assert logged["summary"][name] == pytest.approx(value), name
        assert logged["history"][name] == pytest.approx(value), name
    config = scores(run_dir)["config"]
    assert logged["config"]["translator"] == config["translator"]
    assert logged["config"]["limit"] == 6 and logged["config"]["metrics"] == config["metrics"]
    assert logged["config"]["tracker"]["token"] == "***"
    assert (
        logged["config"]["mtharness"]["mtharness.content_hash"] == scores(run_dir)["dataset"]["content_hash"]
    )
    # the per-segment W&B Table: one row per segment
    assert logged["history"]["segments._type"] == "table-file" and logged["history"]["segments.nrows"] == 6
    for secret in (SENTINEL, *SECRET_ENV.values()):
        assert files_containing(Path(wandb_env["WANDB_DIR"]), secret) == []

    again = run_cli(
        ["track", str(run_dir), "--to", "wandb", "--mode", "offline"], cwd=tmp_path, env=wandb_env
    )
    assert again.returncode == 0, again.stderr
    assert "already logged" in again.stdout
    assert len(list((Path(wandb_env["WANDB_DIR"]) / "wandb").glob("offline-run-*"))) == 1


def test_sweep_jobs_share_one_group(tmp_path: Path, wandb_env: dict[str, str]) -> None:
    sweep = tmp_path / "sweeps" / "s1"
    args = ["run", "-m", "translator=echo", "limit=3,4", "progress=false", "tracker=wandb", "tracker.ci_n=0"]
    proc = run_cli(
        [*args, f"results_dir={tmp_path / 'results'}", f"hydra.sweep.dir={sweep}"],
        cwd=tmp_path,
        env=wandb_env,
    )
    assert proc.returncode == 0, proc.stderr
    runs = [read_run(d) for d in sorted((Path(wandb_env["WANDB_DIR"]) / "wandb").glob("offline-run-*"))]
    assert sorted(r["config"]["limit"] for r in runs) == [3, 4]
    assert {r["group"] for r in runs} == {"sweeps/s1"}  # the sweep folder names the group
    assert (sweep / "sweep.md").is_file() and f"Sweep {sweep}: 2 jobs" in proc.stdout
