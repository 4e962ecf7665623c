"""A job that fails inside a submitit sweep (SLURM or local) reaches the submitting shell as one line.

Inside a job, Hydra's run_job keeps the exception the app raised in the job's result; submitit pickles
that result back, and Hydra's sweeper re-raises it in the submitting process, where Hydra's reporter
would print a traceback for any Exception. So the job raises JobFailed, whose pickle comes back as
SweepJobFailed, a SystemExit: Hydra's reporter lets it pass, and `mtharness run` prints its one line
(which job, the first line of the cause, the job's log) and exits with the code the run would have had
on this machine (cli.failures: 2 for bad input or a failing environment; 1 for a bug).

A job that SLURM kills (time limit, memory, scancel) writes no result: submitit raises its
UncompletedJobError in the submitting process instead, which `mtharness run` also prints as one line
(exit 1) through uncompleted_job_line.
"""

from __future__ import annotations

import atexit
import os
import re
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from hydra.types import RunMode
from omegaconf import OmegaConf

from mtharness.cli.failures import one_line

T = TypeVar("T")


class SweepJobFailed(SystemExit):
    """A job of the sweep failed: ``message`` is the line to print, ``code`` the exit status."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(code)
        self.message = message


class JobFailed(Exception):
    """Raised inside the job (run_job keeps only Exceptions); unpickles as SweepJobFailed."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message, code)
        self.message = message
        self.code = code

    def __reduce__(self) -> tuple[Any, tuple[str, int]]:
        return SweepJobFailed, (self.message, self.code)


def in_submitit_job(hydra_cfg: Any) -> bool:
    """True inside a job of a sweep on hydra-submitit's launchers (SLURM or local).

    Both halves count: a plain run inside someone's own submitit job goes through Hydra's reporter,
    which needs the usual SystemExit; submitit sets SUBMITIT_FOLDER before running the function.
    """
    target = str(OmegaConf.select(hydra_cfg, "launcher._target_", default=""))
    multirun = hydra_cfg.mode == RunMode.MULTIRUN
    return multirun and "hydra_submitit_launcher" in target and "SUBMITIT_FOLDER" in os.environ


def guarded_job(func: Callable[[], T]) -> T:
    """cli.failures.guarded for a job of a submitit sweep: the failure goes back as JobFailed, not SystemExit."""
    try:
        return func()
    except Exception as exc:
        found = one_line(exc)
        if found is not None:  # the job's log gets the line a local run prints
            print(f"mtharness run: error: {found[0]}", file=sys.stderr, flush=True)
        raise job_failure(exc, found) from None


def job_failure(exc: BaseException, found: tuple[str, int] | None) -> JobFailed:
    """This job's failure as one line: a user-facing one (``found``: message and exit code, see
    cli.failures.one_line) or a bug, whose traceback stays in the job's log and whose code is 1."""
    import submitit  # only inside a submitit job, where it is installed

    if found is None:
        traceback.print_exception(exc, file=sys.stderr)
        lines = str(exc).strip().splitlines()
        cause = f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
    env = submitit.JobEnvironment()
    where = "SLURM job" if env.cluster == "slurm" else f"submitit {env.cluster} job"
    # submitit still writes the result (it carries this error) and then the job process would exit 0;
    # exiting non-zero once everything else is done makes SLURM (sacct) record the job as FAILED too
    atexit.register(_exit_failed)
    message, code = found if found is not None else (cause, 1)
    return JobFailed(
        f"mtharness run: error: {where} {env.job_id} failed: {message}; log: {env.paths.stderr}", code
    )


def _exit_failed() -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(1)


# submitit 1.5's wording; another wording falls through to the exception as it is
_UNCOMPLETED = re.compile(
    r"Job (\S+) \(task: \d+\) with path (\S+)_result\.pkl\s+has not produced any output \(state: ([^)]*)\)"
)


def uncompleted_job_line(exc: BaseException, argv: Sequence[str]) -> str | None:
    """submitit's UncompletedJobError (the job died without a result) as one line; None for anything else."""
    if type(exc).__name__ != "UncompletedJobError" or not (found := _UNCOMPLETED.search(str(exc))):
        return None
    job, stem, state = found.groups()
    where = "submitit local job" if any("submitit_local" in a for a in argv) else "SLURM job"
    log = Path(f"{stem}_log.err")
    found_log = f"log: {log}" if log.exists() else f"no log: it never started (see {log.parent})"
    return f"mtharness run: error: {where} {job} failed: ended without a result (state: {state}); {found_log}"


# Hydra's BasicLauncher runs a sweep's jobs one after another in this process, and a SystemExit from
# one job would end the whole sweep: a failing job is recorded here instead and the sweep goes on;
# `mtharness run` lists the failures at the end and exits 2.
SWEEP_JOBS: list[int] = []
SWEEP_FAILURES: list[str] = []


def basic_sweep(hydra_cfg: Any) -> bool:
    """True in a job of a multirun on Hydra's own (serial, in-process) launcher."""
    target = str(OmegaConf.select(hydra_cfg, "launcher._target_", default=""))
    return bool(hydra_cfg.mode == RunMode.MULTIRUN) and target.endswith("BasicLauncher")


def sweep_job(hydra_cfg: Any, func: Callable[[], T]) -> T | None:
    """Run one job of a basic-launcher sweep; a failure is printed, recorded (job number and overrides)
    and returns None. Ctrl-C still ends the sweep."""
    from mtharness.cli.secrets import redact

    num = OmegaConf.select(hydra_cfg, "job.num", default="?")
    overrides = " ".join(str(o) for o in (OmegaConf.select(hydra_cfg, "overrides.task", default=[]) or []))
    SWEEP_JOBS.append(1)
    try:
        return func()
    except Exception as exc:
        found = one_line(exc)
        if found is None:  # a bug: its traceback is what a report needs
            traceback.print_exception(exc, file=sys.stderr)
            lines = str(exc).strip().splitlines()
            message = f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
        else:
            message = found[0]
        line = redact(f"job {num} ({overrides}): {message}")
        print(f"mtharness run: error: {line}", file=sys.stderr, flush=True)
        SWEEP_FAILURES.append(line)
        return None


def sweep_summary() -> int:
    """After a basic-launcher sweep: the failed jobs listed again, one per line; 2 if any failed."""
    if not SWEEP_FAILURES:
        return 0
    print(f"mtharness run: {len(SWEEP_FAILURES)} of {len(SWEEP_JOBS)} sweep jobs failed:", file=sys.stderr)
    for line in SWEEP_FAILURES:
        print(f"  {line}", file=sys.stderr)
    return 2
