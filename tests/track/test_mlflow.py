"""tracker=mlflow against a real `mlflow server` (SQLite backend store, local artifact root) started
here on a free port: a run and a 2-job joblib sweep logged and read back through MLflow's client;
the server then stopped, and the same run still succeeds with one warning (or exits 2 when
tracker.required=true, its folder written). Tests run in file order: the last one stops the server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli
from tests.helpers.installed import require
from tests.helpers.net import answers_health, free_port
from tests.track.helpers import SECRET_ENV, SENTINEL, expected_metrics, files_containing, flat_config, scores

require("mlflow", reason="the track extra (mlflow) is not installed")
pytestmark = pytest.mark.slow  # the server alone takes ~15 s to answer

HEALTH_BOUND_S = 180  # generous: the machine is shared; the loop ends as soon as /health answers


@dataclass
class Server:
    uri: str
    root: Path
    proc: subprocess.Popen[bytes]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("mlflow")
    port = free_port()
    cmd = [
        str(Path(sys.executable).parent / "mlflow"),
        "server",
        "--backend-store-uri",
        f"sqlite:///{root / 'mlflow.db'}",
        "--default-artifact-root",
        str(root / "artifacts"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
    ]
    log = (root / "server.log").open("wb")
    scratch = root / "tmp"  # mlflow's table-creation lock file goes here, not into the machine's /tmp
    scratch.mkdir()
    env = {**os.environ, "TMPDIR": str(scratch)}
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=root, env=env)
    srv = Server(f"http://127.0.0.1:{port}", root, proc)
    deadline = time.monotonic() + HEALTH_BOUND_S
    while not answers_health(srv.uri, timeout=5):
        if proc.poll() is not None or time.monotonic() > deadline:
            srv.stop()
            pytest.fail(f"mlflow server did not answer /health: {(root / 'server.log').read_text()[-2000:]}")
        time.sleep(0.5)  # polling interval, not synchronisation: the loop waits for /health itself
    try:
        yield srv
    finally:
        srv.stop()
        log.close()


def _run_args(tmp_path: Path, server: Server, experiment: str, *extra: str) -> list[str]:
    return [
        "run",
        "translator=echo",
        "progress=false",
        f"results_dir={tmp_path / 'results'}",
        "tracker=mlflow",
        f"tracker.uri={server.uri}",
        f"tracker.experiment={experiment}",
        f"+tracker.token={SENTINEL}",
        *extra,
    ]


def _runs(server: Server, experiment: str) -> list[Any]:
    from mlflow import MlflowClient

    client = MlflowClient(server.uri)
    exp = client.get_experiment_by_name(experiment)
    return [] if exp is None else list(client.search_runs([exp.experiment_id]))


def _check_logged(server: Server, run: Any, run_dir: Path) -> None:
    """Metrics equal scores.json, parameters equal the resolved config, the artifacts are there."""
    from mlflow import MlflowClient

    for name, value in expected_metrics(run_dir).items():
        assert run.data.metrics[name] == pytest.approx(value), name
    doc = scores(run_dir)
    config = json.loads(json.dumps(doc["config"]))
    config["tracker"]["token"] = "***"  # the secret-named key, redacted
    for key, value in flat_config(config).items():
        assert run.data.params[key] == value, key
    assert run.data.params["mtharness.content_hash"] == doc["dataset"]["content_hash"]
    assert run.data.params["mtharness.git_commit"] == (doc["git_commit"] or "unknown")
    assert run.data.tags["translator"] == "echo" and run.data.tags["pair"] == "en-es"
    assert run.data.tags["signature.forward.BLEU"] == doc["scores"]["forward"]["BLEU"]["signature"]
    names = {a.path for a in MlflowClient(server.uri).list_artifacts(run.info.run_id)}
    assert {"scores.json", "summary.md", "segments.jsonl", "segments_table.json"} <= names


def test_run_logged_and_not_twice(server: Server, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    proc = run_cli(
        [*_run_args(tmp_path, server, "single", "limit=6"), f"hydra.run.dir={run_dir}"],
        cwd=tmp_path,
        env=SECRET_ENV,
    )
    assert proc.returncode == 0, proc.stderr
    (run,) = _runs(server, "single")
    _check_logged(server, run, run_dir)
    assert run.info.status == "FINISHED"
    again = run_cli(
        ["track", str(run_dir), "--to", "mlflow", "--uri", server.uri, "--experiment", "single"], cwd=tmp_path
    )
    assert again.returncode == 0, again.stderr
    assert f"already logged, skipped (mlflow run {run.info.run_id})" in again.stdout
    assert len(_runs(server, "single")) == 1
    for secret in (SENTINEL, *SECRET_ENV.values()):  # artifact root and backend store
        assert files_containing(server.root, secret) == []


def test_joblib_sweep_has_one_parent_and_a_table(server: Server, tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    args = _run_args(tmp_path, server, "sweep", "limit=4,6", f"hydra.sweep.dir={sweep}")
    proc = run_cli(
        [args[0], "-m", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", *args[1:]], cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    runs = _runs(server, "sweep")
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    assert len(parents) == 1 and len(children) == 2
    assert {c.data.tags["mlflow.parentRunId"] for c in children} == {parents[0].info.run_id}
    assert parents[0].info.status == "FINISHED"
    for child in children:
        _check_logged(server, child, Path(child.data.tags["mtharness.run_dir"]))
    assert sorted(c.data.params["limit"] for c in children) == ["4", "6"]
    from mlflow import MlflowClient

    assert {"sweep.md", "sweep.json"} <= {
        a.path for a in MlflowClient(server.uri).list_artifacts(parents[0].info.run_id)
    }
    table = json.loads((sweep / "sweep.json").read_text())
    assert [j["label"] for j in table["jobs"]] == ["limit=4", "limit=6"]
    assert "limit=4" in proc.stdout and "limit=6" in proc.stdout


def test_server_down_warns_once_or_fails_when_required(server: Server, tmp_path: Path) -> None:
    server.stop()
    run_dir = tmp_path / "run"
    proc = run_cli(
        [*_run_args(tmp_path, server, "single", "limit=6"), f"hydra.run.dir={run_dir}"], cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    assert (run_dir / "scores.json").is_file()
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("warning: tracker mlflow: "), proc.stderr
    strict = tmp_path / "strict"
    proc = run_cli(
        [
            *_run_args(tmp_path, server, "single", "limit=6", "tracker.required=true"),
            f"hydra.run.dir={strict}",
        ],
        cwd=tmp_path,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mtharness run: error: tracker mlflow: "), proc.stderr
    assert scores(strict)["n_segments"] == 6  # the folder was written before the tracker failed
