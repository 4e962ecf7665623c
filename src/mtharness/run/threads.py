"""CPU threads per job: parallel jobs must not oversubscribe the cores.

Measured here (../shared/docs/ENVIRONMENT.md): torch generation with 2 threads ran ~100x slower while
another process kept the second core busy, because OpenMP threads spin-wait. Two parallel jobs on a
2-core machine are exactly that case, so each job of a parallel sweep gets 1 thread unless told otherwise.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import Any

from mtharness.core import MtharnessError

# the variables OpenMP, MKL and OpenBLAS (under torch and CTranslate2) read when they load
THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def resolve_threads(requested: Any, environ: Mapping[str, str], parallel: bool) -> int | None:
    """Threads for this job: the ``threads`` key, else what the launcher set, else 1 in a parallel sweep.

    None leaves the libraries at their defaults. The joblib launcher (loky) already exports
    OMP_NUM_THREADS = cores // n_jobs to its workers, and SLURM exports SLURM_CPUS_PER_TASK: both are
    respected.
    """
    if requested is not None:
        try:
            n = int(requested)
        except (TypeError, ValueError):
            raise MtharnessError(f"threads={requested!r} must be a whole number >= 1 (or null)") from None
        if n < 1:
            raise MtharnessError(f"threads={n} must be >= 1 (or null for the library default)")
        return n
    if environ.get("OMP_NUM_THREADS", "").isdigit():
        return int(environ["OMP_NUM_THREADS"])
    if environ.get("SLURM_CPUS_PER_TASK", "").isdigit():
        return int(environ["SLURM_CPUS_PER_TASK"])
    return 1 if parallel else None


def apply_threads(n: int | None) -> None:
    """Export the thread count before torch/CTranslate2 load, and set torch's if it is already loaded."""
    # idle OpenMP threads sleep instead of spinning: the cause of the 100x slowdown
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    if n is None:
        return
    for var in THREAD_VARS:
        os.environ[var] = str(n)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(n)


def thread_report() -> dict[str, Any]:
    """What this job actually ran with (recorded in scores.json as ``threads``)."""
    report: dict[str, Any] = {"OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS")}
    torch = sys.modules.get("torch")
    if torch is not None:
        report["torch"] = torch.get_num_threads()
    return report
