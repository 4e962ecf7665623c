"""Usage errors through the real console script: one line on stderr, exit 2, never a traceback.

Every subcommand gets a bad flag; `run` also gets Hydra's kinds of mistakes (unknown key, bad override
syntax, missing group option, unknown metric); a closed stdout (`-h | head -1`) ends quietly.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from mtharness.cli import COMMANDS
from tests.conftest import REPO

pytestmark = pytest.mark.slow  # dozens of console-script runs; CI runs it, the quick loop skips it

SCRIPT = Path(sys.executable).with_name("mtharness")
ENV = {**os.environ, "PYTHONPATH": str(REPO / "src")}
ENV.pop("HYDRA_FULL_ERROR", None)

BAD_FLAG = {command: [command, "--no-such-flag"] for command in COMMANDS}
MORE = {
    "compare unknown metric": ["compare", "--systems", "a.de", "--refs", "r.de", "--metrics", "chrx"],
    "compare bad choice": ["compare", "--paired", "xx"],
    "compare flag without value": ["compare", "--seed"],
    "compare non-integer seed": ["compare", "--seed", "one"],
    "report unknown metric": ["report", "somewhere", "--metrics", "blue"],
    "gate missing required": ["gate", "--current", "x"],
    "gate unknown smoothing": ["gate", "--baseline", "b", "--current", "c", "-s", "median"],
    "baseline no action": ["baseline"],
    "baseline bad action": ["baseline", "copy", "a", "b"],
    "baseline save missing file": ["baseline", "save", "run_dir"],
    "rtt-correlation no runs": ["rtt-correlation"],
    "align missing garbled": ["align", "original.en"],
    "run unknown key": ["run", "limt=5"],
    "run unknown nested key": ["run", "dataset.nope=1"],
    "run unknown key in a sweep": ["run", "-m", "limt=1,2"],
    "run override syntax": ["run", "limit=5="],
    "run missing equals": ["run", "+foo"],
    "run missing group option": ["run", "translator=nope"],
    "run unknown metric": ["run", "metrics=[bleu,chrx]"],
    "run bad hydra flag value": ["run", "--cfg", "everything"],
    "run unresolvable interpolation": [
        "run",
        "translator=echo",
        "results_dir=${oc.env:MTHARNESS_NO_SUCH_VAR}",
    ],
}
CASES = {**BAD_FLAG, **MORE}


def mtharness(args: Sequence[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), *args], cwd=cwd, env=ENV, capture_output=True, text=True, timeout=120, check=False
    )


def test_every_command_has_a_bad_flag_case() -> None:
    assert set(BAD_FLAG) == set(COMMANDS) and SCRIPT.exists()


@dataclass
class Outcome:
    returncode: int
    stderr: str
    written: list[Path]  # files the command left in its own empty working folder


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    """Every case run once, two console scripts at a time (each is a fresh interpreter, mostly
    waiting on start-up): what it printed and what it left in its own empty folder."""

    def one(case: str) -> tuple[str, Outcome]:
        cwd = tmp_path_factory.mktemp("case")
        proc = mtharness(CASES[case], cwd)
        # nothing written (a failed sweep leaves only Hydra's own multirun.yaml in its sweep folder)
        written = [p for p in cwd.rglob("*") if p.is_file() and p.name != "multirun.yaml"]
        return case, Outcome(proc.returncode, proc.stderr, written)

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(one, CASES))


@pytest.mark.parametrize("case", list(CASES))
def test_usage_error_is_one_line_and_exit_2(case: str, outcomes: dict[str, Outcome]) -> None:
    args, out = CASES[case], outcomes[case]
    lines = out.stderr.splitlines()
    assert out.returncode == 2, out.stderr
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith(f"mtharness {args[0]}") and ": error: " in lines[0]
    assert "Traceback" not in out.stderr and "HYDRA_FULL_ERROR" not in out.stderr
    assert out.written == []


def test_messages_say_what_to_do(tmp_path: Path) -> None:
    typo = mtharness(["run", "limt=5"], tmp_path).stderr
    assert "unknown config key 'limt'" in typo and "+limt=5" in typo
    metric = mtharness(["compare", "--metrics", "chrx"], tmp_path).stderr
    assert "unknown metric 'chrx'" in metric and "chrF2" in metric and "--help" in metric
    option = mtharness(["run", "translator=nope"], tmp_path).stderr
    assert "Available options in 'translator'" in option and "apertium, " in option


def test_unknown_command_is_one_line(tmp_path: Path) -> None:
    proc = mtharness(["comapre", "--systems", "x"], tmp_path)
    assert proc.returncode == 2 and len(proc.stderr.splitlines()) == 1
    assert "unknown command 'comapre'" in proc.stderr and "compare" in proc.stderr


def test_gate_config_typo_is_exit_2(tmp_path: Path) -> None:
    config = tmp_path / "rules.yaml"
    config.write_text("alpah: 0.1\nrules:\n  - {metric: chrf, max_drop: 0.5}\n", encoding="utf-8")
    proc = mtharness(["gate", "--baseline", "b.json", "--current", "run", "--config", str(config)], tmp_path)
    assert proc.returncode == 2 and len(proc.stderr.splitlines()) == 1
    assert "unknown keys ['alpah']" in proc.stderr


@pytest.mark.parametrize("command", ["", *COMMANDS])
def test_help_into_a_closed_pipe_has_no_traceback(command: str, tmp_path: Path) -> None:
    args = [command, "-h"] if command else ["-h"]
    proc = subprocess.Popen(
        [str(SCRIPT), *args], cwd=tmp_path, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader is gone before the help is written
    err = proc.stderr.read().decode()
    proc.wait(timeout=120)
    assert "Traceback" not in err and "Exception ignored" not in err and "BrokenPipe" not in err
    assert proc.returncode in (0, 141)


def test_help_piped_into_head(tmp_path: Path) -> None:
    shell = f"'{SCRIPT}' compare -h | head -1; '{SCRIPT}' run -h | head -1"
    proc = subprocess.run(["bash", "-c", shell], cwd=tmp_path, env=ENV, capture_output=True, text=True)
    assert proc.stdout.splitlines() == [proc.stdout.splitlines()[0], proc.stdout.splitlines()[1]]
    assert proc.stdout.startswith("usage: mtharness compare") and proc.stderr == ""
