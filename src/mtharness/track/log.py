"""Log finished runs to the chosen tracker without ever losing a run to it.

The run folder is complete before anything here runs. A tracker that is down, missing or that
rejects a value costs one warning line on stderr and the run still succeeds, unless
``tracker.required=true``: then the same line is an error (exit 2), the folder kept as written.
A sweep's parent (an MLflow parent run; a W&B group) is made once by the launching process and
written to PARENT_FILE in the sweep folder, where every job finds it (SLURM jobs included).
"""

from __future__ import annotations

import importlib
import json
import logging
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mtharness.core import MtharnessError
from mtharness.textio import atomic_write_json
from mtharness.track.content import what_to_log
from mtharness.track.settings import TrackerSettings, tracker_settings

PARENT_FILE = ".mtharness-tracker.json"
INSTALL = "pip install 'mtharness[track]'"
_LINE_CHARS = 300
_UNREACHABLE = ("Max retries exceeded", "NewConnectionError", "Connection refused", "ConnectionError")


class TrackerError(MtharnessError):
    """The tracker failed and tracker.required=true: one line, exit 2."""


def backend(kind: str) -> Any:
    return importlib.import_module(f"mtharness.track.{kind}_backend")


@contextmanager
def _quiet() -> Iterator[None]:
    """The tracker libraries' own retry and info logs are not our one line (mlflow configures its
    loggers when imported, inside this block, so levels set beforehand would not hold)."""
    logging.disable(logging.CRITICAL)
    try:
        yield
    finally:
        logging.disable(logging.NOTSET)


def failure_line(kind: str, exc: BaseException) -> str:
    if isinstance(exc, ImportError):
        return f"tracker {kind}: the {kind} package is not installed ({INSTALL})"
    text = str(exc)
    if any(sign in text for sign in _UNREACHABLE):
        return f"tracker {kind}: cannot reach the tracking server ({type(exc).__name__}: connection failed)"
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    detail = f"{type(exc).__name__}: {lines[0] if lines else ''}".rstrip(": ")
    if len(detail) > _LINE_CHARS:
        detail = detail[: _LINE_CHARS - 1] + "…"
    return f"tracker {kind}: {detail}"


def _failed(settings: TrackerSettings, line: str) -> None:
    if settings.required:
        raise TrackerError(f"{line} (tracker.required=true; the run folder is complete)")
    print(
        f"warning: {line}; the run folder is complete, log it later with `mtharness track`", file=sys.stderr
    )


def log_folder(
    run_dir: str | Path, settings: TrackerSettings, parent: Mapping[str, Any] | None = None
) -> tuple[str, bool] | None:
    """Log one finished run folder: (tracker run id, logged now?), or None after the warning line."""
    logged = what_to_log(run_dir, settings.ci_n)  # our own folder: its errors are not the tracker's
    try:
        with _quiet():
            return backend(settings.kind).log_run(logged, settings, dict(parent) if parent else None)
    except Exception as exc:
        _failed(settings, failure_line(settings.kind, exc) + f" (run {run_dir})")
        return None


def read_parent(sweep_dir: Path | None, kind: str) -> dict[str, Any] | None:
    """The sweep's parent as on_multirun_start wrote it; None outside a sweep or when it is missing."""
    if sweep_dir is None:
        return None
    try:
        doc = json.loads((sweep_dir / PARENT_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) and doc.get("tracker") == kind else None


def track_after_run(
    tracker_node: Mapping[str, Any] | None, run_dir: str | Path, sweep_dir: Path | None
) -> None:
    """`mtharness run`'s last step: the finished folder logged (a sweep job under its parent)."""
    settings = tracker_settings(tracker_node)
    if not settings.enabled:
        return
    done = log_folder(run_dir, settings, read_parent(sweep_dir, settings.kind))
    if done is not None:
        print(f"tracker {settings.kind}: logged run {done[0]}", file=sys.stderr)


def start_sweep(tracker_node: Mapping[str, Any] | None, sweep_dir: Path) -> None:
    """The sweep's parent, made once before its jobs start; a failure is the usual one line."""
    settings = tracker_settings(tracker_node)
    if not settings.enabled:
        return
    try:
        with _quiet():
            parent = backend(settings.kind).start_parent(settings, sweep_dir)
    except Exception as exc:
        if not settings.required:  # required: each job fails with its own line, its folder written
            _failed(settings, failure_line(settings.kind, exc) + " (the sweep's parent run)")
        return
    sweep_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_json(sweep_dir / PARENT_FILE, parent)


def end_sweep(tracker_node: Mapping[str, Any] | None, sweep_dir: Path, artifacts: list[Path]) -> None:
    """The parent closed, with the sweep's table attached (MLflow)."""
    settings = tracker_settings(tracker_node)
    parent = read_parent(sweep_dir, settings.kind) if settings.enabled else None
    end = getattr(backend(settings.kind), "end_parent", None) if parent else None
    if end is None:
        return
    try:
        with _quiet():
            end(settings, parent, artifacts, True)
    except Exception as exc:
        _failed(settings, failure_line(settings.kind, exc) + " (the sweep's parent run)")
