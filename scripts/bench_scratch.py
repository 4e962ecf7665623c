"""Scratch folders of the benchmark sections, removed when the section's process ends.

Each section runs in a process of its own (bench.py --section), so a folder made here is gone once
that section has reported, however it ended short of a kill: nothing piles up under the temp folder.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path


def scratch_dir(prefix: str) -> Path:
    """A new empty folder under the temp folder, removed (with what the section wrote) at exit."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path
