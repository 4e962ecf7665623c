"""Session fixtures that build a folder once for the whole test run, however many xdist workers.

Each xdist worker runs its own session, so a plain session fixture builds its checkpoint once per
worker. `built_once` builds it once under the run's shared temp root (the parent of every worker's
basetemp) behind a file lock; the other workers wait for it and read the same folder. Without xdist
it is an ordinary `mktemp`.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from filelock import FileLock

DONE = ".built"


def built_once(factory: pytest.TempPathFactory, name: str, build: Callable[[Path], object]) -> Path:
    """The folder `name`, filled by `build(folder)` once per test run (per session without xdist)."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        out = factory.mktemp(name)
        build(out)
        return out
    root = factory.getbasetemp().parent / "built-once"
    root.mkdir(exist_ok=True)
    out = root / name
    with FileLock(str(root / f"{name}.lock")):
        if not (out / DONE).exists():
            if out.exists():  # a worker stopped halfway through: build again from nothing
                shutil.rmtree(out)
            out.mkdir()
            build(out)
            (out / DONE).touch()
    return out
