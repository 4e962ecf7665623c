"""The managed COMET environment and tiny COMET/CometKiwi checkpoints, built once per test session.

The environment is built the way a user builds it, `mtharness env setup comet`, into the clone's own
`.cache/envs` (git-ignored; $MTHARNESS_TEST_ENVS_DIR moves it), so CI caches nothing outside the clone
and a second session reuses it (setup returns at once when `env check` passes). The checkpoints are
random-init models built by scripts/make_tiny_comet.py with that environment's python: nothing is
downloaded.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.built_once import built_once

REPO = Path(__file__).resolve().parents[2]
TEST_ENVS = Path(os.environ.get("MTHARNESS_TEST_ENVS_DIR", REPO / ".cache" / "envs"))


@pytest.fixture(scope="session")
def comet_env() -> Iterator[Path]:
    """`mtharness env setup comet` into the clone's cache dir; $MTHARNESS_ENVS_DIR points at it."""
    mp = pytest.MonkeyPatch()
    mp.setenv("MTHARNESS_ENVS_DIR", str(TEST_ENVS))
    proc = subprocess.run(
        [sys.executable, "-m", "mtharness", "env", "setup", "comet", "--quiet"],
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    if proc.returncode != 0:
        mp.undo()
        pytest.fail(f"mtharness env setup comet failed:\n{proc.stderr[-3000:]}")
    yield TEST_ENVS / "comet"
    mp.undo()


@pytest.fixture(scope="session")
def comet_python(comet_env: Path) -> Path:
    return comet_env / "bin" / "python"


def _build(python: Path, kind: str, out: Path) -> Path:
    proc = subprocess.run(
        [str(python), str(REPO / "scripts" / "make_tiny_comet.py"), "--kind", kind, "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (out / "checkpoints" / "model.ckpt").is_file() and (out / "hparams.yaml").is_file()
    return out


@pytest.fixture(scope="session")
def tiny_comet(comet_python: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A reference-based RegressionMetric checkpoint folder (hub-download layout)."""
    return built_once(tmp_path_factory, "tiny_comet", lambda out: _build(comet_python, "comet", out))


@pytest.fixture(scope="session")
def tiny_cometkiwi(comet_python: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A reference-free UnifiedMetric checkpoint reading [mt, src] (the wmt22-cometkiwi-da layout)."""
    return built_once(tmp_path_factory, "tiny_cometkiwi", lambda out: _build(comet_python, "cometkiwi", out))


@pytest.fixture(scope="session")
def tiny_xcomet(comet_python: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An XCOMETMetric checkpoint whose word-level head tags error spans (xcomet and xcomet_qe)."""
    return built_once(tmp_path_factory, "tiny_xcomet", lambda out: _build(comet_python, "xcomet", out))
