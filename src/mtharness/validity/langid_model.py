"""py3langid's model, unpacked once per user.

py3langid ships its model LZMA-compressed (4.5 MB on disk, 65 MB unpacked) and unpacks it on every
load: about 0.5 CPU s, most of what language ID adds to a short run. The first load here writes the
unpacked file to ``<user cache>/langid/`` (atomically, named by the packed file's hash); later loads
read that file instead (a few hundredths of a second). Only for the py3langid version whose model
layout this reader knows (``UNPACKED_VERSION``): any other version, a cache folder that cannot be
written, or an unpacked file that does not load falls back to py3langid's own loader, so the labels
never depend on the cache.
"""

from __future__ import annotations

import contextlib
import hashlib
import lzma
import os
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from mtharness.host import user_cache_dir
from mtharness.validity.checks import _version

UNPACKED_VERSION = "0.4.0"  # model.npz.xz: ptc, pc, classes, nextmove, nextmove_row, out_feat


def load_identifier() -> Any:
    """py3langid's LanguageIdentifier over its packaged model, with normalised probabilities."""
    from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier

    if _version("py3langid") == UNPACKED_VERSION:
        unpacked = unpacked_model(Path(MODEL_DIR) / MODEL_FILE)
        if unpacked is not None:
            try:
                return _from_unpacked(unpacked, LanguageIdentifier)
            except (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile):
                pass  # py3langid's loader below gives the same model
    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def unpacked_model(packed: Path) -> Path | None:
    """The unpacked copy of ``packed`` in the user cache, written now if missing; None if it cannot be."""
    try:
        digest = hashlib.sha256(packed.read_bytes()).hexdigest()[:16]
        target = user_cache_dir() / "langid" / f"py3langid-{UNPACKED_VERSION}-{digest}.npz"
        if target.is_symlink() or (target.exists() and not target.is_file()):
            return None  # not a file this module wrote: neither read nor replaced
        if target.is_file():
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, part = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out, lzma.open(packed) as src:
                shutil.copyfileobj(src, out, length=1 << 20)
            os.replace(part, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(part)
            raise
    except (OSError, lzma.LZMAError):
        return None  # read-only or full disk, no home: py3langid unpacks in memory as usual
    return target


def _from_unpacked(path: Path, identifier_class: Any) -> Any:
    """What py3langid 0.4.0's modelio.load_model builds from the unpacked npz, as from_model_file does."""
    import numpy as np
    from py3langid.modelio import _to_array

    with np.load(path, allow_pickle=False) as data:
        ptc, pc = data["ptc"], data["pc"]
        classes = data["classes"].tolist()
        nextmove, row = _to_array(data["nextmove"]), _to_array(data["nextmove_row"])
        output = data["out_feat"].tolist()
    return identifier_class(
        np.asarray(ptc), np.asarray(pc), classes, nextmove, output, norm_probs=True, tk_row=row
    )
