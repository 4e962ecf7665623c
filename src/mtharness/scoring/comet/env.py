"""The managed virtual environment COMET runs in, beside (never inside) the main one.

unbabel-comet 2.2.7 pins transformers<5, huggingface_hub<1, numpy<2 and protobuf<5, so it cannot share
the main environment (transformers 5). `mtharness env setup comet` builds a venv with versions known to
work together; scoring then talks to a worker process running that venv's python
(``scoring/comet/worker.py``). The location is ``$MTHARNESS_ENVS_DIR/comet``, by default
``${XDG_CACHE_HOME:-~/.cache}/mtharness/envs/comet``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mtharness.core import MtharnessError
from mtharness.host import user_cache_dir

ENV_NAME = "comet"
ENVS_VAR = "MTHARNESS_ENVS_DIR"
MARKER = "mtharness-env.json"
# torch first and alone: the CPU wheel on disk, so unbabel-comet's own `torch` requirement is met
# and never pulls a CUDA build; it stays pinned in the second call too, or the resolver backtracks
# to another torch (a CUDA one from the index). setuptools: torchmetrics 0.10 imports pkg_resources
# (gone from setuptools 81) while torch 2.13 wants >=77. sentencepiece 0.2.0: newer wheels import
# protobuf's runtime_version, absent in protobuf<5 (unbabel-comet's pin).
TORCH_PIN = "torch==2.13.0"
PINS = ("unbabel-comet==2.2.7", "setuptools>=77,<81", "sentencepiece==0.2.0", "numpy<2")
EXPECTED = {"unbabel-comet": "2.2.7", "torch": "2.13.0", "sentencepiece": "0.2.0"}
SETUP_HINT = "mtharness env setup comet"
_PIP_NOISE = ("WARNING: Location ",)  # the local index's harmless 'neither a file nor a directory'


def envs_dir(override: str | Path | None = None) -> Path:
    """Folder of the managed environments: the override, $MTHARNESS_ENVS_DIR, or the user cache."""
    if override:
        return Path(override).expanduser().resolve()
    if os.environ.get(ENVS_VAR):
        return Path(os.environ[ENVS_VAR]).expanduser().resolve()
    return user_cache_dir() / "envs"


def env_path(override: str | Path | None = None) -> Path:
    return envs_dir(override) / ENV_NAME


def env_python(env: Path) -> Path:
    return env / "bin" / "python"


@dataclass(frozen=True)
class EnvStatus:
    """What `mtharness env check` reports: ok, and one line saying why or why not."""

    ok: bool
    path: Path
    detail: str
    versions: dict[str, str]

    def line(self) -> str:
        state = "ok" if self.ok else "missing" if not self.path.exists() else "broken"
        return f"{ENV_NAME}: {state} ({self.path}): {self.detail}"


def require_env(override: str | Path | None = None) -> Path:
    """The environment's folder; a one-line error with the command to run when it is not set up."""
    env = env_path(override)
    if not (env / MARKER).is_file() or not env_python(env).exists():
        raise MtharnessError(
            f"COMET needs its managed environment, not found at {env}: run `{SETUP_HINT}` "
            f"(once, ~1 min; ${ENVS_VAR} moves it)"
        )
    return env


_PROBE = (
    "import json, importlib.metadata as m; import comet, torch; "
    "print(json.dumps({p: m.version(p) for p in ('unbabel-comet', 'torch', 'sentencepiece', "
    "'transformers', 'pytorch-lightning', 'numpy')}))"
)


def check_env(override: str | Path | None = None, timeout: float = 120) -> EnvStatus:
    """Import comet in the environment and compare the versions with the pins."""
    env = env_path(override)
    if not env.exists():
        return EnvStatus(False, env, f"not set up; run `{SETUP_HINT}`", {})
    if not (env / MARKER).is_file() or not env_python(env).exists():
        return EnvStatus(False, env, f"incomplete (setup did not finish); run `{SETUP_HINT}`", {})
    try:
        proc = subprocess.run(
            [str(env_python(env)), "-c", _PROBE], capture_output=True, text=True, timeout=timeout, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return EnvStatus(False, env, f"its python does not run ({exc}); run `{SETUP_HINT}`", {})
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1][:200]
        return EnvStatus(False, env, f"`import comet` fails ({last}); run `{SETUP_HINT}`", {})
    versions: dict[str, str] = json.loads(proc.stdout.strip().splitlines()[-1])
    wrong = {k: v for k, v in EXPECTED.items() if not versions.get(k, "").startswith(v)}
    if wrong:
        found = ", ".join(f"{k} {versions.get(k)} (want {v})" for k, v in wrong.items())
        return EnvStatus(False, env, f"unexpected versions: {found}; run `{SETUP_HINT}`", versions)
    summary = ", ".join(f"{k} {versions[k]}" for k in ("unbabel-comet", "torch", "transformers"))
    return EnvStatus(True, env, summary, versions)


def _pip(env: Path, args: list[str], say: Callable[[str], None], quiet: bool) -> None:
    """Run pip in the environment, passing its lines on (progress) and failing in one line."""
    # --no-cache-dir: nothing lands in ~/.cache/pip; the environment is the only thing setup leaves
    cmd = [
        str(env_python(env)),
        "-m",
        "pip",
        "install",
        "--disable-pip-version-check",
        "--no-cache-dir",
        *args,
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    tail: list[str] = []
    for line in proc.stdout:
        line = line.rstrip()
        if not line or line.startswith(_PIP_NOISE):
            continue
        tail = [*tail[-4:], line]
        if not quiet:
            say(f"  {line}")
    if proc.wait() != 0:
        raise MtharnessError(
            f"env setup comet: `pip install {' '.join(args)}` failed ({tail[-1] if tail else 'no output'})"
        )


def setup_env(
    override: str | Path | None = None,
    say: Callable[[str], None] = print,
    quiet: bool = False,
    force: bool = False,
) -> EnvStatus:
    """Create (or re-create) the environment with the pinned versions, then check it.

    The marker file is written last, so an interrupted setup is seen as incomplete and redone.
    """
    env = env_path(override)
    if not force and (env / MARKER).is_file():
        status = check_env(override)
        if status.ok:
            say(f"comet environment already set up at {env} ({status.detail})")
            return status
    start = time.monotonic()
    steps = [
        ("create the venv", lambda: _venv(env)),
        (f"install {TORCH_PIN} (CPU wheel)", lambda: _pip(env, [TORCH_PIN], say, quiet)),
        (f"install {' '.join(PINS)}", lambda: _pip(env, [TORCH_PIN, *PINS], say, quiet)),
    ]
    for i, (what, step) in enumerate(steps, 1):
        say(f"[{i}/{len(steps) + 1}] {what} ({time.monotonic() - start:.0f} s)")
        step()
    say(f"[{len(steps) + 1}/{len(steps) + 1}] check `import comet` ({time.monotonic() - start:.0f} s)")
    (env / MARKER).write_text(json.dumps({"pins": [TORCH_PIN, *PINS], "created": time.time()}) + "\n")
    status = check_env(override)
    if not status.ok:
        (env / MARKER).unlink(missing_ok=True)
        raise MtharnessError(f"env setup comet: the new environment does not work: {status.detail}")
    say(f"comet environment ready at {env} in {time.monotonic() - start:.0f} s ({status.detail})")
    return status


def _venv(env: Path) -> None:
    if env.exists():
        shutil.rmtree(env)
    env.parent.mkdir(parents=True, exist_ok=True)
    # the base interpreter (not this venv's): the new venv must not see the main environment's packages
    base = getattr(sys, "_base_executable", sys.executable)
    proc = subprocess.run([base, "-m", "venv", str(env)], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise MtharnessError(f"env setup comet: could not create a venv at {env} ({last})")


def env_versions(env: Path) -> dict[str, str]:
    """Installed versions read from the environment's dist-info folders (no interpreter started)."""
    versions: dict[str, str] = {}
    for dist in env.glob("lib/python*/site-packages/*.dist-info"):
        name, _, version = dist.name[: -len(".dist-info")].partition("-")
        versions[name.lower().replace("_", "-")] = version
    return versions
