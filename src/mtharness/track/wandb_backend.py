"""Weights & Biases: a run folder as a W&B run (its sweep's jobs share a group), online or offline.

The W&B run id is derived from the run's identity and folder hash, so logging the same folder again
finds it (online: through the public API; offline: the ``offline-run-*-<id>`` folder under
WANDB_DIR) instead of making a second run. wandb's own capture of the command line, git state,
code and system metrics is switched off: a secret given on the command line must not reach W&B.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any

from mtharness.track.content import Logged, safe_artifacts
from mtharness.track.settings import TrackerSettings

TABLE_KEY = "segments"
TAG_CHARS = 64  # W&B's longest tag


def run_id(logged: Logged) -> str:
    return hashlib.sha256(f"{logged.identity}:{logged.folder_hash}".encode()).hexdigest()[:32]


def wandb_dir() -> Path:
    return Path(os.environ.get("WANDB_DIR") or ".")


def already_logged(settings: TrackerSettings, rid: str) -> bool:
    if settings.mode == "offline":
        return any((wandb_dir() / "wandb").glob(f"offline-run-*-{rid}"))
    import wandb

    path = "/".join(p for p in (settings.entity, settings.project, rid) if p)
    try:
        wandb.Api().run(path)
    except wandb.errors.CommError:
        return False
    return True


def log_run(logged: Logged, settings: TrackerSettings, parent: dict[str, Any] | None) -> tuple[str, bool]:
    """(W&B run id, True when logged now; False when this folder was logged before)."""
    import wandb

    rid = run_id(logged)
    if already_logged(settings, rid):
        return rid, False
    config = {
        **logged.config,
        "mtharness": {k: v for k, v in logged.params.items() if k.startswith("mtharness.")},
        "tags": dict(logged.tags),
    }
    group = settings.group or (parent or {}).get("group")
    run = wandb.init(
        project=settings.project,
        entity=settings.entity,
        group=group,
        name=settings.run_name or logged.name,
        id=rid,
        config=config,
        tags=[
            t[:TAG_CHARS] for t in (logged.tags["dataset"], logged.tags["pair"], logged.tags["translator"])
        ],
        mode="offline" if settings.mode == "offline" else "online",
        dir=str(wandb_dir()),
        reinit="create_new",
        settings=wandb.Settings(
            console="off",
            save_code=False,
            disable_git=True,
            x_disable_meta=True,
            x_disable_stats=True,
            silent=True,
        ),
    )
    try:
        run.log(
            {
                **logged.metrics,
                TABLE_KEY: wandb.Table(columns=list[str | int](logged.table_columns), data=logged.table_rows),
            }
        )
        run.summary.update(logged.metrics)
        artifact = wandb.Artifact(f"run-{rid}", type="mtharness-run")
        with tempfile.TemporaryDirectory(prefix="mtharness-track-") as scratch:
            for path in safe_artifacts(logged, Path(scratch)):
                artifact.add_file(str(path), name=path.name)
            run.log_artifact(artifact)
            run.finish()
    except BaseException:
        run.finish(exit_code=1)
        raise
    return rid, True


def start_parent(settings: TrackerSettings, sweep_dir: Path) -> dict[str, Any]:
    """W&B has no parent runs: the sweep's jobs share a group (tracker.group, else the sweep folder)."""
    return {"tracker": "wandb", "group": settings.group or f"{sweep_dir.parent.name}/{sweep_dir.name}"}
