"""Output paths checked against what the same command reads, before anything is computed or written.

An output that is also an input (a system file, a baseline, a file of a run folder being read) would be
replaced by the command's own report: refused in one line, exit 2, nothing written.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from mtharness.core import MtharnessError
from mtharness.textio import same_file


def _inside(path: Path, folder: Path) -> bool:
    try:
        Path(os.path.realpath(path)).relative_to(os.path.realpath(folder))
    except ValueError:
        return False
    return True


def check_outputs(
    outputs: Mapping[str, str | Path | None],
    inputs: Iterable[str | Path | None] = (),
    folders: Iterable[str | Path] = (),
    allowed: Iterable[str | Path] = (),
) -> None:
    """Refuse an output (option -> path) that names an input file, a file inside a run folder being read
    (except the ``allowed`` paths, e.g. report's own report.html), or the same file as another output."""
    given = {opt: Path(p) for opt, p in outputs.items() if p and str(p) != "-"}
    read = [Path(p) for p in inputs if p]
    dirs = [Path(d) for d in folders]
    ok = [Path(os.path.realpath(a)) for a in allowed]
    seen: dict[str, Path] = {}
    for opt, path in given.items():
        if any(same_file(path, other) for other in read):
            raise MtharnessError(
                f"{opt} {path}: is also an input of this command; writing it would replace that input, "
                "choose another file"
            )
        folder = next((d for d in dirs if _inside(path, d)), None)
        if folder is not None and Path(os.path.realpath(path)) not in ok:
            raise MtharnessError(
                f"{opt} {path}: is inside the run folder {folder} being read; write it somewhere else"
            )
        real = Path(os.path.realpath(path))
        for other_opt, other in seen.items():
            if real == other:
                raise MtharnessError(f"{opt} {path}: is also the file of {other_opt}; give each its own file")
        seen[opt] = real
