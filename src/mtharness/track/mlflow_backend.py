"""MLflow: a run folder as an MLflow run (nested under a sweep's parent run), through MlflowClient.

No global MLflow state (no ``mlflow.start_run``), so a sweep's jobs in one process never mix up
their active runs. Failures surface as exceptions; track.log turns them into one warning line.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

from mtharness.track.content import FOLDER_HASH_TAG, IDENTITY_TAG, Logged, safe_artifacts
from mtharness.track.settings import TrackerSettings

PARENT_TAG = "mlflow.parentRunId"
SWEEP_TAG = "mtharness.sweep_dir"
TABLE_FILE = "segments_table.json"
# a tracker that is down must cost seconds, not MLflow's default of minutes of retries
HTTP_DEFAULTS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "30",
}
PARAM_CHARS = 6000  # MLflow's longest parameter value
TAG_CHARS = 8000


def client(settings: TrackerSettings) -> Any:
    for key, value in HTTP_DEFAULTS.items():
        os.environ.setdefault(key, value)
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=settings.uri)


def experiment_id(mlflow_client: Any, name: str) -> str:
    found = mlflow_client.get_experiment_by_name(name)
    return str(found.experiment_id) if found is not None else str(mlflow_client.create_experiment(name))


def find_logged(mlflow_client: Any, exp_id: str, logged: Logged) -> str | None:
    """The id of an MLflow run that already holds this run folder (same identity and folder hash)."""
    query = (
        f"tags.`{FOLDER_HASH_TAG}` = '{logged.folder_hash}' and tags.`{IDENTITY_TAG}` = '{logged.identity}'"
    )
    runs = mlflow_client.search_runs([exp_id], filter_string=query, max_results=1)
    return str(runs[0].info.run_id) if runs else None


def _chunks(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def log_run(logged: Logged, settings: TrackerSettings, parent: dict[str, Any] | None) -> tuple[str, bool]:
    """(MLflow run id, True when it was logged now; False when the folder was logged before)."""
    from mlflow.entities import Metric, Param

    mlflow_client = client(settings)
    exp_id = str(parent["experiment_id"]) if parent else experiment_id(mlflow_client, settings.experiment)
    existing = find_logged(mlflow_client, exp_id, logged)
    if existing is not None:
        return existing, False
    tags = dict(logged.tags)
    if parent:
        tags[PARENT_TAG] = str(parent["run_id"])
    run = mlflow_client.create_run(exp_id, tags=tags, run_name=settings.run_name or logged.name)
    run_id = str(run.info.run_id)
    try:
        now = int(time.time() * 1000)
        params = [Param(k, v[:PARAM_CHARS]) for k, v in sorted(logged.params.items())]
        metrics = [Metric(k, v, now, 0) for k, v in sorted(logged.metrics.items())]
        for chunk in _chunks(params, 100):
            mlflow_client.log_batch(run_id, params=chunk)
        for chunk in _chunks(metrics, 1000):
            mlflow_client.log_batch(run_id, metrics=chunk)
        with tempfile.TemporaryDirectory(prefix="mtharness-track-") as scratch:
            for path in safe_artifacts(logged, Path(scratch)):
                mlflow_client.log_artifact(run_id, str(path))
        table = {c: [row[i] for row in logged.table_rows] for i, c in enumerate(logged.table_columns)}
        mlflow_client.log_table(run_id, data=table, artifact_file=TABLE_FILE)
    except BaseException:
        mlflow_client.set_terminated(run_id, "FAILED")
        raise
    mlflow_client.set_terminated(run_id, "FINISHED")
    return run_id, True


def start_parent(settings: TrackerSettings, sweep_dir: Path) -> dict[str, Any]:
    """The sweep's parent run (RUNNING until end_parent): what its jobs need to nest under it."""
    mlflow_client = client(settings)
    exp_id = experiment_id(mlflow_client, settings.experiment)
    name = settings.run_name or f"sweep {sweep_dir.parent.name}/{sweep_dir.name}"
    run = mlflow_client.create_run(exp_id, tags={SWEEP_TAG: str(sweep_dir)}, run_name=name)
    return {"tracker": "mlflow", "run_id": str(run.info.run_id), "experiment_id": exp_id}


def end_parent(settings: TrackerSettings, parent: dict[str, Any], artifacts: list[Path], ok: bool) -> None:
    mlflow_client = client(settings)
    for path in artifacts:
        mlflow_client.log_artifact(str(parent["run_id"]), str(path))
    mlflow_client.set_terminated(str(parent["run_id"]), "FINISHED" if ok else "FAILED")
