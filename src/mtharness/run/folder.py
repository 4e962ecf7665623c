"""One run per folder: a finished run is never mixed with, or silently replaced by, another.

A run is finished when its scores.json exists (a shard run: shard.json). Both are written last and
atomically, so a crash leaves a folder without them and its other files are debris of an unfinished
run: the next run into that folder removes them before writing its own. A finished run is kept unless
the new run says ``overwrite=true``; then exactly that run's files go (scores.json first, so a crash
half-way leaves an unfinished folder, never a finished one with missing files). Anything else in the
folder (a cache, the user's own notes) is never touched.
"""

from __future__ import annotations

import os
import tempfile
from contextlib import suppress
from pathlib import Path

from mtharness.core import MtharnessError
from mtharness.textio import describe_os_error

MARKERS = ("scores.json", "shard.json")
# every file a run (and `mtharness report` on it) writes into its folder; the markers come first
RUN_FILES = (
    *MARKERS,
    "segments.jsonl",
    "hyp.*.txt",
    "rt.*.txt",
    "summary.md",
    "report.html",
    "run.log",
    ".hydra/config.yaml",
    ".hydra/hydra.yaml",
    ".hydra/overrides.yaml",
)
# Hydra writes these into the folder before the run starts: the new run's own, never debris
HYDRA_FILES = ("run.log", ".hydra/config.yaml", ".hydra/hydra.yaml", ".hydra/overrides.yaml")


def finished_marker(run_dir: str | Path) -> Path | None:
    """The scores.json (or shard.json) of a finished run in ``run_dir``, else None."""
    for name in MARKERS:
        path = Path(run_dir) / name
        if path.is_file():
            return path
    return None


def run_files(run_dir: str | Path, keep_hydra: bool = False) -> list[Path]:
    """The run's files present in ``run_dir`` (with the atomic writers' leftover temp files), markers first."""
    folder = Path(run_dir)
    found: list[Path] = []
    for pattern in RUN_FILES:
        if keep_hydra and pattern in HYDRA_FILES:
            continue
        parent, _, name = pattern.rpartition("/")
        base = folder / parent if parent else folder
        found += sorted(p for p in base.glob(name) if p.is_file())
        found += sorted(p for p in base.glob(f".{name}.*.tmp") if p.is_file())
    return found


def remove_run_files(run_dir: str | Path, keep_hydra: bool = False) -> list[Path]:
    """Delete the run's files (markers first); returns what was removed."""
    removed = []
    for path in run_files(run_dir, keep_hydra):
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            raise MtharnessError(
                f"run folder {run_dir}: cannot remove the previous run's {path.name} "
                f"({describe_os_error(exc, path)})"
            ) from None
        removed.append(path)
    hydra_dir = Path(run_dir) / ".hydra"
    if not keep_hydra and hydra_dir.is_dir() and not any(hydra_dir.iterdir()):
        hydra_dir.rmdir()
    return removed


def refuse_finished(run_dir: str | Path, overwrite: bool) -> None:
    """Refuse a folder holding a finished run unless ``overwrite``."""
    marker = finished_marker(run_dir)
    if marker is not None and not overwrite:
        raise MtharnessError(
            f"run folder {Path(run_dir)} already holds a finished run ({marker.name}); choose another "
            "folder (hydra.run.dir=...) or pass overwrite=true to replace that run"
        )


def earlier_run(run_dir: str | Path, keep_hydra: bool = False) -> bool:
    """Whether ``run_dir`` shows an earlier mtharness run, finished or not (files only a run writes).

    Without such a trace nothing is removed: a folder of the user's own files is not a run's debris.
    """
    folder = Path(run_dir)
    traces = [*MARKERS, "segments.jsonl", "summary.md"]
    if not keep_hydra:
        traces.append(".hydra/config.yaml")
    return any((folder / name).is_file() for name in traces)


def prepare_run_dir(run_dir: str | Path, overwrite: bool, keep_hydra: bool = False) -> list[Path]:
    """Make ``run_dir`` hold no other run's files: refuse a finished run unless ``overwrite``, then clear
    what an earlier run (finished and overwritten, or crashed) left.

    ``keep_hydra`` leaves Hydra's .hydra/ and run.log alone (inside the run they are the new run's).
    """
    refuse_finished(run_dir, overwrite)
    if not earlier_run(run_dir, keep_hydra):
        return []
    return remove_run_files(run_dir, keep_hydra)


def check_writable(run_dir: str | Path) -> None:
    """Create ``run_dir`` and write a small probe file in it: a read-only or full disk fails here, in one line."""
    folder = Path(run_dir)
    existed = folder.is_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".mtharness-probe.", dir=folder)
        try:
            os.write(fd, b"\0" * 65536)
            os.fsync(fd)
        finally:
            os.close(fd)
            os.unlink(probe)
    except OSError as exc:
        if not existed and folder.is_dir():
            with suppress(OSError):
                folder.rmdir()  # leave no empty folder behind a run that never started
        raise MtharnessError(f"run folder: {describe_os_error(exc, exc.filename or folder)}") from None
