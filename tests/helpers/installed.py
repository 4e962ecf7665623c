"""Skip a test module whose optional dependency is missing, without importing that dependency.

``pytest.importorskip`` at module level imports the package while tests are collected, and every
xdist worker collects every module, also the ones a ``-m`` filter deselects afterwards: torch,
transformers, mlflow and scipy cost seconds of CPU per process that way. ``require`` only looks the
package up (``importlib.util.find_spec``); the test imports it when it runs.
"""

from __future__ import annotations

from importlib import util

import pytest


def require(module: str, reason: str | None = None) -> None:
    """Skip the calling module unless ``module`` can be imported (looked up, not imported)."""
    try:
        found = util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package missing, or a broken entry in sys.modules
        found = False
    if not found:
        pytest.skip(reason or f"{module} is not installed", allow_module_level=True)
