"""Every shell command in README.md and docs/*.md runs as written (or, marked `needs: ...`, parses).

Each doc file is one test: its blocks run in order in a scratch folder of their own (beside a link
to ../shared, so `../shared/data/...` means what it means in a checkout), so a later command can
use the run folder an earlier one wrote. `mtharness` is this interpreter's `-m mtharness`. Every
doc file shares one translation cache, so a command repeated across the docs translates once.
See docs/development.md ("Commands in the docs") for the marker convention.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

import mtharness
from tests.conftest import REPO, SHARED_DATA
from tests.docs.doc_blocks import Block, Command, blocks

pytestmark = pytest.mark.slow

DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
PARSE_ONLY = Path(__file__).with_name("parse_only.py")
SRC = Path(mtharness.__file__).resolve().parents[1]
TIMEOUT_S = 600

PRELUDE = f"""
set -o pipefail
export MTH_PY={shlex.quote(sys.executable)} MTH_SRC={shlex.quote(str(SRC))}
mtharness() {{ PYTHONPATH="${{PYTHONPATH:+$PYTHONPATH:}}$MTH_SRC" "$MTH_PY" -m mtharness "$@"; }}
python() {{ PYTHONPATH="${{PYTHONPATH:+$PYTHONPATH:}}$MTH_SRC" "$MTH_PY" "$@"; }}
"""
PARSE_PRELUDE = f"""
export MTH_PY={shlex.quote(sys.executable)} MTH_SRC={shlex.quote(str(SRC))}
mtharness() {{ PYTHONPATH="${{PYTHONPATH:+$PYTHONPATH:}}$MTH_SRC" "$MTH_PY" {shlex.quote(str(PARSE_ONLY))} "$@"; }}
"""


@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("doc_cache")


def _env(cache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MTHARNESS_CACHE")}
    env.update(
        MTHARNESS_CACHE_DIR=str(cache),
        HF_HUB_OFFLINE="1",
        HF_DATASETS_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        OMP_WAIT_POLICY="PASSIVE",
        TOKENIZERS_PARALLELISM="false",
        PYTHONPATH=str(SRC),
    )
    env.pop("HYDRA_FULL_ERROR", None)
    return env


def _workdir(tmp_path: Path) -> Path:
    """A scratch folder where `../shared` is the shared data and `tests/` is the checkout's."""
    work = tmp_path / "work"
    work.mkdir()
    if SHARED_DATA.parent.name == "shared" and SHARED_DATA.exists():
        (tmp_path / "shared").symlink_to(SHARED_DATA.parent)
    elif SHARED_DATA.exists():
        (tmp_path / "shared").mkdir()
        (tmp_path / "shared" / "data").symlink_to(SHARED_DATA)
    for name in ("tests", "scripts"):
        (work / name).symlink_to(REPO / name)
    return work


def _run_command(cmd: Command, assignments: list[str], work: Path, env: dict[str, str]) -> str | None:
    """None when the command did what the doc says; else what went wrong."""
    script = "\n".join(assignments) + "\n" + cmd.text + "\n"
    if cmd.needs:
        syntax = subprocess.run(["bash", "-n", "-c", script], capture_output=True, text=True, check=False)
        if syntax.returncode != 0:
            return f"not valid shell: {syntax.stderr.strip()}"
        if "mtharness" not in cmd.text:
            return None  # make, pip, transformers serve, sudo ...: their syntax is all CI can check
        script = PARSE_PRELUDE + script
        what = "parse"
    else:
        script = PRELUDE + script
        what = "run"
    proc = subprocess.run(
        ["bash", "-c", script], cwd=work, env=env, capture_output=True, text=True,
        timeout=TIMEOUT_S, check=False,
    )  # fmt: skip
    if proc.returncode == 0:
        return None
    tail = (proc.stderr.strip() or proc.stdout.strip())[-1500:]
    return f"{what} failed (exit {proc.returncode}): {tail}"


def _run_python(block: Block, work: Path, env: dict[str, str]) -> str | None:
    if block.needs:
        try:
            compile(block.body, f"block at line {block.line}", "exec")
        except SyntaxError as exc:
            return f"python block does not compile: {exc}"
        return None
    proc = subprocess.run(
        [sys.executable, "-c", block.body], cwd=work, timeout=TIMEOUT_S, check=False,
        env={**env, "PYTHONPATH": f"{SRC}{os.pathsep}{work}"}, capture_output=True, text=True,
    )  # fmt: skip
    if proc.returncode == 0:
        return None
    return f"python block failed (exit {proc.returncode}): {proc.stderr.strip()[-1500:]}"


def _needs_shared(block: Block) -> bool:
    return "../shared" in block.body and not SHARED_DATA.exists()


@pytest.mark.parametrize("doc", DOCS, ids=[d.name for d in DOCS])
def test_doc_commands_run_as_written(doc: Path, tmp_path: Path, shared_cache: Path) -> None:
    found = blocks(doc)
    if not found:
        pytest.skip(f"{doc.name} has no shell or python blocks")
    work = _workdir(tmp_path)
    env = _env(shared_cache)
    failures = []
    for block in found:
        if _needs_shared(block):
            pytest.skip(f"{doc.name} line {block.line} reads ../shared/data, which is absent here")
        if block.path is not None:
            target = work / block.path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(block.body, encoding="utf-8")
            continue
        if block.lang == "python":
            problem = _run_python(block, work, env)
            if problem:
                failures.append(f"{doc.name}:{block.line}: {problem}")
            continue
        assignments: list[str] = []
        for cmd in block.commands():
            if cmd.assignment:
                assignments.append(cmd.text)
                continue
            problem = _run_command(cmd, assignments, work, env)
            if problem:
                failures.append(f"{doc.name}:{cmd.line}: {cmd.text.strip()}\n    {problem}")
    assert not failures, "documented commands that do not work as written:\n" + "\n".join(failures)
