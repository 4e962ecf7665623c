"""Issue 26 (1, 8): an output path never replaces a device, FIFO, symlink or an input of the command."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

from mtharness.data.loaders import SAMPLE_DIR
from tests.conftest import run_cli


@pytest.fixture
def systems(tmp_path: Path) -> Path:
    lines = (SAMPLE_DIR / "sample.es").read_text(encoding="utf-8").split("\n")[:20]
    (tmp_path / "ref.es").write_text("".join(f"{x}\n" for x in lines), encoding="utf-8")
    (tmp_path / "a.es").write_text("".join(f"{x}\n" for x in lines), encoding="utf-8")
    (tmp_path / "b.es").write_text("".join(f"{x.replace('a', 'o')}\n" for x in lines), encoding="utf-8")
    return tmp_path


COMPARE = [
    "compare",
    "--refs",
    "ref.es",
    "--systems",
    "a.es",
    "b.es",
    "--quiet",
    "--paired",
    "none",
    "--ci-n",
    "5",
]


def test_char_device_stays_a_device(systems: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("mknod needs root")
    (systems / "d").mkdir()
    subprocess.run(["mknod", "-m", "666", str(systems / "d" / "null"), "c", "1", "3"], check=True)
    done = run_cli([*COMPARE, "--json", "d/null", "--csv", "/dev/null"], systems)
    assert done.returncode == 0, done.stderr
    assert stat.S_ISCHR((systems / "d" / "null").stat().st_mode)
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_fifo_is_streamed_not_replaced(systems: Path) -> None:
    fifo = systems / "out.fifo"
    os.mkfifo(fifo)
    reader = subprocess.Popen(["cat", str(fifo)], stdout=subprocess.PIPE, text=True)
    done = run_cli([*COMPARE, "--csv", "out.fifo"], systems)
    got, _ = reader.communicate(timeout=60)
    assert done.returncode == 0, done.stderr
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert got.splitlines()[0].startswith("direction,system,metric,score")


def test_symlink_is_followed(systems: Path) -> None:
    (systems / "real.json").write_text("old\n", encoding="utf-8")
    (systems / "link.json").symlink_to("real.json")
    done = run_cli([*COMPARE, "--json", "link.json"], systems)
    assert done.returncode == 0, done.stderr
    assert (systems / "link.json").is_symlink()
    assert json.loads((systems / "real.json").read_text(encoding="utf-8"))["kind"] == "comparison"


def test_dash_streams_to_stdout(systems: Path) -> None:
    done = run_cli([*COMPARE, "--csv", "-"], systems)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("direction,system,metric")
    assert not (systems / "-").exists()


@pytest.mark.parametrize("flag", ["--csv", "--json", "--markdown", "--html", "--latex", "--sentence-level"])
def test_output_onto_an_input_is_refused(systems: Path, flag: str) -> None:
    before = (systems / "b.es").read_bytes()
    done = run_cli([*COMPARE, flag, "b.es"], systems)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "is also an input" in done.stderr
    assert (systems / "b.es").read_bytes() == before


def test_two_outputs_one_file_refused(systems: Path) -> None:
    done = run_cli([*COMPARE, "--csv", "x.txt", "--markdown", "x.txt"], systems)
    assert done.returncode == 2 and "also the file of --csv" in done.stderr
    assert not (systems / "x.txt").exists()


@pytest.mark.parametrize("flag", ["--json", "--junit", "--markdown"])
def test_gate_output_onto_baseline_refused(tmp_path: Path, flag: str) -> None:
    (tmp_path / "baseline.json").write_text('{"kept": true}\n', encoding="utf-8")
    done = run_cli(
        ["gate", "--baseline", "baseline.json", "--current", "run", flag, "baseline.json"], tmp_path
    )
    assert done.returncode == 2 and "is also an input" in done.stderr
    assert done.stderr.strip().count("\n") == 0
    assert (tmp_path / "baseline.json").read_text(encoding="utf-8") == '{"kept": true}\n'


def test_gate_output_inside_current_run_refused(tmp_path: Path) -> None:
    (tmp_path / "baseline.json").write_text("{}\n", encoding="utf-8")
    (tmp_path / "run").mkdir()
    done = run_cli(
        ["gate", "--baseline", "baseline.json", "--current", "run", "--json", "run/scores.json"], tmp_path
    )
    assert done.returncode == 2 and "inside the run folder" in done.stderr
    assert not (tmp_path / "run" / "scores.json").exists()


def test_baseline_save_into_the_run_refused(tmp_path: Path) -> None:
    (tmp_path / "run").mkdir()
    done = run_cli(["baseline", "save", "run", "run/scores.json"], tmp_path)
    assert done.returncode == 2 and "inside the run folder" in done.stderr


def test_report_out_onto_a_run_file_refused(tmp_path: Path) -> None:
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "segments.jsonl").write_text("{}\n", encoding="utf-8")
    done = run_cli(["report", "run", "--out", "run/segments.jsonl"], tmp_path)
    assert done.returncode == 2 and "inside the run folder" in done.stderr
    assert (tmp_path / "run" / "segments.jsonl").read_text(encoding="utf-8") == "{}\n"


def test_json_writers_never_write_nan_or_infinity(tmp_path: Path) -> None:
    from mtharness.textio import atomic_write_json, atomic_write_jsonl

    data = {"a": float("nan"), "b": [float("inf"), -float("inf"), 1.5]}
    atomic_write_json(tmp_path / "x.json", data)
    atomic_write_jsonl(tmp_path / "x.jsonl", [data])
    for name in ("x.json", "x.jsonl"):
        text = (tmp_path / name).read_text()
        assert "NaN" not in text and "Infinity" not in text
        assert json.loads(text.splitlines()[0] if name.endswith("l") else text) == {
            "a": None,
            "b": [None, None, 1.5],
        }
