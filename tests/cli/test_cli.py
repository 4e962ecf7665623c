"""The CLI as users run it: python -m mtharness, Hydra runs and multiruns."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import REPO, run_cli


def test_help_lists_commands_without_torch(tmp_path: Path) -> None:
    proc = run_cli(["--help"], cwd=tmp_path)
    assert proc.returncode == 0 and "run" in proc.stdout
    code = "import sys, mtharness.cli as c; c.main(['--help']); print('torch' in sys.modules)"
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().endswith("False")


def test_run_writes_all_result_files(tmp_path: Path) -> None:
    run_dir = tmp_path / "one"
    proc = run_cli(
        ["run", "translator=echo", "limit=7", "progress=false", f"hydra.run.dir={run_dir}"], cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    assert f"results: {run_dir}" in proc.stdout
    names = {p.name for p in run_dir.iterdir()}
    assert {"scores.json", "segments.jsonl", "hyp.es.txt", "rt.en.txt", "summary.md"} <= names
    payload = json.loads((run_dir / "scores.json").read_text())
    assert payload["schema_version"] == 1 and payload["n_segments"] == 7
    assert payload["config"]["translator"]["name"] == "echo"
    assert payload["versions"]["sacrebleu"] and payload["dataset"]["content_hash"]


def test_multirun_sweeps_translators(apertium: None, tmp_path: Path) -> None:
    proc = run_cli(
        [
            "run",
            "-m",
            "translator=echo,apertium",
            "dataset=sample",
            "limit=10",
            "progress=false",
            f"results_dir={tmp_path / 'results'}",
        ],
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    runs = sorted((tmp_path / "results" / "multirun").rglob("scores.json"))
    names = {json.loads(p.read_text())["translator"]["name"] for p in runs}
    assert names == {"echo", "apertium"}


def test_bad_override_is_a_clear_error(tmp_path: Path) -> None:
    proc = run_cli(["run", "translator=nope"], cwd=tmp_path)
    assert proc.returncode != 0 and "Available options in 'translator'" in proc.stderr


def test_missing_source_file_is_one_line(tmp_path: Path) -> None:
    proc = run_cli(
        [
            "run",
            "dataset=files",
            "dataset.src=missing.en",
            "dataset.src_lang=en",
            "dataset.tgt_lang=es",
            "translator=echo",
            f"hydra.run.dir={tmp_path / 'r'}",
        ],
        cwd=tmp_path,
    )
    assert proc.returncode == 2
    assert "source file missing.en: no such file" in proc.stderr
    assert not (tmp_path / "r" / "scores.json").exists()


def test_repo_has_required_layout() -> None:
    for name in ("pyproject.toml", "configs", "src", "scripts", "tests", "results", "README.md"):
        assert (REPO / name).exists(), name
    assert (REPO / "results" / "README.md").exists()
