"""One run per folder: a finished run is never mixed with, or silently replaced by, another, and nothing
a run cannot prove it wrote is ever deleted.

A run is finished when its scores.json exists (a shard run: shard.json); both are written last and
atomically. Every file a run writes into its folder is listed in the folder's manifest.json with its
size and SHA-256 (run.log, which grows, by the hash of the part written when it was recorded). A later
run into the folder removes an earlier run's files only with ``overwrite=true`` and only those the
manifest lists with a matching hash; any other file with a run file's name (the user's own hyp.de.txt,
a summary.md edited since) makes it refuse, in one line naming them, before anything is deleted.
Files with other names (a cache folder, the user's notes) are never touched.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable
from contextlib import suppress
from pathlib import Path
from typing import Any

from mtharness.core import MtharnessError
from mtharness.textio import atomic_write_json, describe_os_error

MARKERS = ("scores.json", "shard.json")
MANIFEST = "manifest.json"
MANIFEST_KEY = "mtharness_run_manifest"
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
# Hydra writes these into the folder before the run starts: the new run's own, never an earlier run's
HYDRA_FILES = ("run.log", ".hydra/config.yaml", ".hydra/hydra.yaml", ".hydra/overrides.yaml")
GROWING = ("run.log",)  # appended to after it is recorded: proven by the hash of its recorded prefix


def finished_marker(run_dir: str | Path) -> Path | None:
    """The scores.json (or shard.json) of a finished run in ``run_dir``, else None."""
    for name in MARKERS:
        path = Path(run_dir) / name
        if path.is_file():
            return path
    return None


def run_files(run_dir: str | Path, keep_hydra: bool = False) -> list[Path]:
    """The files in ``run_dir`` named like a run's files, markers first."""
    folder = Path(run_dir)
    found: list[Path] = []
    for pattern in RUN_FILES:
        if keep_hydra and pattern in HYDRA_FILES:
            continue
        parent, _, name = pattern.rpartition("/")
        base = folder / parent if parent else folder
        found += sorted(p for p in base.glob(name) if p.is_file() or p.is_symlink())
    return found


def _digest(path: Path, size: int | None = None) -> str:
    h = hashlib.sha256()
    left = size
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20 if left is None else min(1 << 20, left)):
            h.update(chunk)
            if left is not None:
                left -= len(chunk)
                if left <= 0:
                    break
    return h.hexdigest()


def read_manifest(run_dir: str | Path) -> dict[str, dict[str, Any]] | None:
    """The files listed in ``run_dir``'s manifest.json; {} when there is none, None when a manifest.json
    is there but is not ours (then it is the user's file, and not a proof of anything)."""
    path = Path(run_dir) / MANIFEST
    if not path.exists() and not path.is_symlink():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if path.is_symlink() or not isinstance(data, dict) or data.get(MANIFEST_KEY) != 1:
        return None
    files = data.get("files")
    return files if isinstance(files, dict) else None


def record_files(run_dir: str | Path, paths: Iterable[str | Path]) -> None:
    """Add ``paths`` (files inside ``run_dir``, just written by this run) to its manifest, atomically."""
    folder = Path(run_dir)
    files = read_manifest(folder) or {}
    for path in paths:
        p = Path(path)
        if not p.is_file() or p.is_symlink():
            continue
        rel = Path(os.path.relpath(p, folder)).as_posix()
        if rel.startswith("../"):
            continue  # a followed symlink's target outside the folder is not the folder's file
        size = p.stat().st_size
        files[rel] = {"size": size, "sha256": _digest(p, size), "grows": rel in GROWING}
    atomic_write_json(folder / MANIFEST, {MANIFEST_KEY: 1, "files": files})


def _proven(path: Path, entry: Any) -> bool:
    """Whether ``path`` still holds exactly what the manifest entry says a run wrote."""
    if path.is_symlink() or not path.is_file() or not isinstance(entry, dict):
        return False
    size = entry.get("size")
    if not isinstance(size, int):
        return False
    actual = path.stat().st_size
    if actual < size or (actual != size and not entry.get("grows")):
        return False
    return _digest(path, size) == entry.get("sha256")


def _names(paths: list[Path], folder: Path) -> str:
    rel = [p.relative_to(folder).as_posix() for p in paths]
    return ", ".join(rel[:8]) + (f" and {len(rel) - 8} more" if len(rel) > 8 else "")


def refuse_finished(run_dir: str | Path, overwrite: bool) -> None:
    """Refuse a folder holding a finished run unless ``overwrite``."""
    marker = finished_marker(run_dir)
    if marker is not None and not overwrite:
        raise MtharnessError(
            f"run folder {Path(run_dir)} already holds a finished run ({marker.name}); choose another "
            "folder (hydra.run.dir=...) or pass overwrite=true to replace that run"
        )


def prepare_run_dir(run_dir: str | Path, overwrite: bool, keep_hydra: bool = False) -> list[Path]:
    """Make ``run_dir`` hold no other run's files; returns what was removed.

    Refuses a finished run unless ``overwrite``; refuses, naming them, files with a run file's name that
    no earlier run here is proven (manifest.json, hashes) to have written; removes proven files of an
    earlier run (finished or not) only with ``overwrite``. ``keep_hydra`` leaves Hydra's .hydra/ and
    run.log alone (inside the run they are the new run's).
    """
    folder = Path(run_dir)
    refuse_finished(folder, overwrite)
    manifest = read_manifest(folder)
    present = run_files(folder, keep_hydra)
    if manifest is None:
        present.append(folder / MANIFEST)
    listed = manifest or {}
    foreign = [p for p in present if not _proven(p, listed.get(p.relative_to(folder).as_posix()))]
    if foreign:
        raise MtharnessError(
            f"run folder {folder} holds files no earlier run is known to have written there "
            f"({_names(foreign, folder)}); move them away or choose another folder (hydra.run.dir=...)"
        )
    if not present:
        return []
    if not overwrite:
        raise MtharnessError(
            f"run folder {folder} holds an unfinished earlier run ({_names(present, folder)}); pass "
            "overwrite=true to replace it or choose another folder (hydra.run.dir=...)"
        )
    return remove_run_files(folder, present, keep_hydra)


def remove_run_files(run_dir: str | Path, paths: list[Path], keep_hydra: bool = False) -> list[Path]:
    """Delete ``paths`` (proven files of an earlier run, markers first), then the manifest that listed them."""
    folder = Path(run_dir)
    removed = []
    for path in [*paths, folder / MANIFEST]:
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            raise MtharnessError(
                f"run folder {run_dir}: cannot remove the previous run's {path.name} "
                f"({describe_os_error(exc, path)})"
            ) from None
        removed.append(path)
    hydra_dir = folder / ".hydra"
    if not keep_hydra and hydra_dir.is_dir() and not any(hydra_dir.iterdir()):
        hydra_dir.rmdir()
    return removed


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
