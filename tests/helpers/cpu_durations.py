"""pytest plugin, opt-in: CPU seconds per test, to find what makes the suite slow on a shared machine.

Wall times (``--durations``) mostly measure the load other processes put on the machine; CPU seconds
(this process plus the subprocesses it waited for: CLI runs, model builds, workers) are what a test
costs. Use it on the files you change:

    .venv/bin/python -m pytest -p tests.helpers.cpu_durations tests/run -q

``CPU_DURATIONS=N`` sets how many rows are printed (default 30). Under pytest-xdist each worker
keeps its own rows: set ``CPU_DURATIONS_FILE=path`` and every process appends its rows there as
tab-separated ``cpu wall nodeid`` lines (sort them with ``sort -rn path | head``). A session fixture's server is
counted to the test during whose teardown it is reaped (usually the last one).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest

_ROWS: list[tuple[float, float, str]] = []


def _cpu_s() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    cpu, wall = _cpu_s(), time.perf_counter()
    yield  # setup, call and teardown: a fixture built for this test is counted here
    row = (_cpu_s() - cpu, time.perf_counter() - wall, item.nodeid)
    _ROWS.append(row)
    path = os.environ.get("CPU_DURATIONS_FILE")
    if path:
        with open(path, "a", encoding="utf-8") as out:
            out.write(f"{row[0]:.2f}\t{row[1]:.2f}\t{row[2]}\n")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    total = sum(row[0] for row in _ROWS)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    terminalreporter.section("CPU seconds per test (setup + call + teardown, with waited-for children)")
    terminalreporter.write_line(f"{total:.1f} CPU s over {len(_ROWS)} tests; load average now {load:.2f}")
    for cpu, wall, nodeid in sorted(_ROWS, reverse=True)[: int(os.environ.get("CPU_DURATIONS", "30"))]:
        terminalreporter.write_line(f"{cpu:8.2f} cpu s {wall:8.2f} wall s  {nodeid}")
