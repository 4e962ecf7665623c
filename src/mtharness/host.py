"""What this installation and machine provide: the configs/ folder, the CPU cores a process may use and
the per-user cache folder."""

from __future__ import annotations

import os
from pathlib import Path


def usable_cores() -> int:
    """CPU cores this process may run on (its affinity mask where the OS has one, else all)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def config_dir() -> Path:
    """The configs/ folder: $MTHARNESS_CONFIGS, else the one shipped in the wheel, else the checkout's.

    At the bottom (layer 0), because `run` composes from it and the gate reads configs/gate/ too.
    """
    env = os.environ.get("MTHARNESS_CONFIGS")
    if env:
        return Path(env).resolve()
    packaged = Path(__file__).resolve().parent / "configs"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "configs"


def user_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/mtharness`` (default ``~/.cache/mtharness``): what is kept per user, not per run
    (managed environments, the serve index of a read-only folder, the unpacked language-ID model)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser().resolve() / "mtharness"
