"""A run folder is used by one run at a time: an flock on ``.mtharness.lock`` held for the whole run.

A second run into the same folder fails at once (no waiting) with one line naming the holder's pid and
host, before it reads or deletes anything there. The lock goes with the process (the kernel drops it
when the holder exits, even when it is killed), so a crashed run never leaves a stale lock behind; the
file itself stays, as a lock file that is unlinked could be locked twice.
"""

from __future__ import annotations

import fcntl
import os
import socket
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path

from mtharness.core import MtharnessError
from mtharness.textio import describe_os_error

LOCK_NAME = ".mtharness.lock"
_HELD: dict[str, int] = {}  # folder -> fd; re-entrant within one process (guard, then the run itself)


def _holder(fd: int) -> str:
    try:
        text = os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
    except OSError:
        text = ""
    return text or "another process"


def lock_run_dir(run_dir: str | Path) -> bool:
    """Lock ``run_dir`` for this process (creating it); True if this call took the lock, False if this
    process already held it. Raises MtharnessError naming the holder when another process holds it."""
    folder = Path(run_dir)
    key = os.path.realpath(folder)
    if key in _HELD:
        return False
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        raise MtharnessError(f"run folder: {describe_os_error(exc, exc.filename or folder)}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _holder(fd)
        os.close(fd)
        raise MtharnessError(
            f"run folder {folder} is in use by another run ({holder}); wait for it to finish or choose "
            "another folder (hydra.run.dir=...)"
        ) from None
    with suppress(OSError):  # who holds it, for the second run's message; a full disk is reported next
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()}\n".encode(), 0)
    _HELD[key] = fd
    return True


def unlock_run_dir(run_dir: str | Path) -> None:
    """Release this process's lock on ``run_dir`` (nothing if it holds none)."""
    fd = _HELD.pop(os.path.realpath(Path(run_dir)), None)
    if fd is not None:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def lock_and_check(run_dir: str | Path, check: Callable[[], object]) -> None:
    """Lock ``run_dir`` for this process, then ``check()`` it; when the check refuses, the folder is
    left as it was: the lock released, its file as before (or gone), a folder made for it removed."""
    folder = Path(run_dir)
    lock_file = folder / LOCK_NAME
    created, before = not folder.exists(), lock_file.read_bytes() if lock_file.is_file() else None
    lock_run_dir(folder)
    try:
        check()
    except BaseException:
        with suppress(OSError):  # the refusal is what the user needs to see, not a second failure
            if before is None:
                lock_file.unlink(missing_ok=True)
            else:
                lock_file.write_bytes(before)
        unlock_run_dir(folder)
        if created:
            with suppress(OSError):
                folder.rmdir()
        raise
