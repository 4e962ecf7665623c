"""Run keys and run folders: a run is named in URLs by ``<root number>/<path under that root>``
(``0/runs/2026-12-04/10-00-00_apertium_sample``), the same path its files are served under.

``Runs.folder`` turns a key into a run folder under one of the results folders or raises a 404
(traversal, absolute paths, symlinks leading outside are all "no such run"); ``Runs.read`` reads it
with the one run reader (mtharness.run.reader), so a damaged folder is the reader's one line.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from urllib.parse import quote

from starlette.exceptions import HTTPException

from mtharness.run.reader import SCORES_FILE, RunFolder, read_run
from mtharness.serve.security import safe_file


class Runs:
    def __init__(self, roots: Sequence[Path]) -> None:
        self.roots = [Path(r) for r in roots]
        self._real = [r.resolve() for r in self.roots]

    def folder(self, key: str) -> Path:
        """The run folder a key names (its scores.json must be a file under the root), else 404."""
        root, _, rest = key.strip("/").partition("/")
        scores = None
        if root.isdigit():  # "0": the results folder itself is the run
            scores = safe_file(self.roots, int(root), f"{rest}/{SCORES_FILE}" if rest else SCORES_FILE)
        if scores is None:
            raise HTTPException(404, f"no run {key!r} under the results folders")
        return scores.parent

    def read(self, key: str) -> RunFolder:
        return read_run(self.folder(key))

    def key_of(self, folder: Path) -> str:
        """The key of a folder under one of the roots (the first that holds it)."""
        real = folder.resolve()
        for i, root in enumerate(self._real):
            if real == root:
                return str(i)
            if real.is_relative_to(root):
                return f"{i}/{real.relative_to(root).as_posix()}"
        raise HTTPException(404, f"{folder} is not under the results folders")

    def file_links(self, folder: Path, limit: int = 200) -> list[tuple[str, str, int]]:
        """(name, URL, bytes) of the regular files in a run folder (subfolders included, symlinks out
        of the root left out), sorted by name; at most ``limit``."""
        key = self.key_of(folder)
        root_index, _, _ = key.partition("/")
        root = self._real[int(root_index)]
        out: list[tuple[str, str, int]] = []
        for path in sorted(folder.rglob("*")):
            if len(out) >= limit:
                break
            try:
                real = path.resolve(strict=True)
            except (OSError, RuntimeError):
                continue
            if not real.is_relative_to(root) or not real.is_file():
                continue
            rel = path.relative_to(folder).as_posix()
            out.append((rel, quote(f"/files/{key}/{rel}"), real.stat().st_size))
        return out
