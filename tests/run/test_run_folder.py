"""One run per folder: a finished run is refused unless overwrite=true, which removes exactly its files."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from mtharness.core import MtharnessError
from mtharness.data.loaders import load_sample
from mtharness.run.evaluate import evaluate
from mtharness.run.folder import prepare_run_dir, run_files
from mtharness.run.writer import write_run
from mtharness.translators.echo import EchoTranslator
from tests.conftest import run_cli

QUIET = ["translator=echo", "progress=false", "validity.langid.enabled=false"]


def _run(tmp_path: Path, run_dir: Path, *overrides: str) -> subprocess.CompletedProcess[str]:
    return run_cli(["run", *QUIET, f"hydra.run.dir={run_dir}", *overrides], cwd=tmp_path)


def test_finished_run_is_refused_then_replaced_with_overwrite(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    first = _run(tmp_path, run_dir, "limit=5", f"cache.dir={run_dir / 'cache'}")
    assert first.returncode == 0, first.stderr
    report = run_cli(["report", str(run_dir), "--ci-n", "5"], cwd=tmp_path)
    assert report.returncode == 0, report.stderr  # report.html joins the run's manifest
    (run_dir / "notes.txt").write_text("the user's own notes", encoding="utf-8")
    before = {p.name: p.read_bytes() for p in run_dir.rglob("*") if p.is_file()}

    refused = _run(tmp_path, run_dir, "limit=3", "round_trip=false")
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == [
        f"mtharness run: error: run folder {run_dir} already holds a finished run (scores.json); choose "
        "another folder (hydra.run.dir=...) or pass overwrite=true to replace that run"
    ]
    after = {p.name: p.read_bytes() for p in run_dir.rglob("*") if p.is_file()}
    assert after == before  # not even Hydra's .hydra/ files of the refused run

    replaced = _run(tmp_path, run_dir, "limit=3", "round_trip=false", "overwrite=true", "cache.enabled=false")
    assert replaced.returncode == 0, replaced.stderr
    names = {p.relative_to(run_dir).as_posix() for p in run_dir.rglob("*") if p.is_file()}
    assert "rt.en.txt" not in names and "report.html" not in names  # the old run's files are gone
    assert {"notes.txt", "cache/translations.sqlite", "scores.json", "hyp.es.txt"} <= names
    assert json.loads((run_dir / "scores.json").read_text())["n_segments"] == 3
    assert "limit=3" in (run_dir / ".hydra" / "overrides.yaml").read_text()


def test_files_no_run_is_known_to_have_written_are_refused_never_removed(tmp_path: Path) -> None:
    crashed = tmp_path / "crashed"
    crashed.mkdir()
    for name in ("hyp.de.txt", "rt.en.txt", "segments.jsonl", "data.tsv"):
        (crashed / name).write_text("x\n")
    for overwrite in (False, True):
        with pytest.raises(MtharnessError, match="no earlier run is known to have written there"):
            prepare_run_dir(crashed, overwrite=overwrite)
    assert sorted(p.name for p in crashed.iterdir()) == [
        "data.tsv",
        "hyp.de.txt",
        "rt.en.txt",
        "segments.jsonl",
    ]
    # a folder of the user's own files with other names is left alone and accepted
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "data.tsv").write_text("my notes\n")
    assert prepare_run_dir(mine, overwrite=False) == []
    assert (mine / "data.tsv").exists()


def test_markers_are_removed_first_and_written_last(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """scores.json marks a finished run: written last (atomically), removed first."""
    result = evaluate(load_sample().subset(4), EchoTranslator(), progress=False, validity=None)
    write_run(result, tmp_path)
    assert [p.name for p in run_files(tmp_path)][:1] == ["scores.json"]
    with pytest.raises(MtharnessError, match="already holds a finished run"):
        prepare_run_dir(tmp_path, overwrite=False)

    import mtharness.run.writer as writer

    def broken(*_: object) -> str:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(writer, "summary_markdown", broken)
    prepare_run_dir(tmp_path, overwrite=True)
    with pytest.raises(OSError):
        write_run(result, tmp_path)
    assert not (tmp_path / "scores.json").exists()  # a crash before the end leaves no finished run
    # the crashed write's hyp file is not in the manifest yet: refused (named), never removed
    with pytest.raises(MtharnessError, match=r"hyp\.es\.txt"):
        prepare_run_dir(tmp_path, overwrite=True)
    assert (tmp_path / "hyp.es.txt").exists()
