"""Issue 26 (2): a run deletes only files its folder's manifest proves an earlier run wrote, only with
overwrite=true; anything else with a run file's name is refused in one line naming it."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_cli

QUIET = [
    "translator=echo",
    "limit=3",
    "progress=false",
    "validity.langid.enabled=false",
    "cache.enabled=false",
]


def _files(folder: Path) -> dict[str, bytes]:
    # the lock file names its latest holder: not a file of the run
    files = [p for p in folder.rglob("*") if p.is_file() and p.name != ".mtharness.lock"]
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in files}


def test_users_files_with_run_names_are_refused_and_kept(tmp_path: Path) -> None:
    ow = tmp_path / "ow"
    ow.mkdir()
    (ow / "summary.md").write_text("notes\n")
    (ow / "hyp.de.txt").write_text("mine\n")
    for extra in ([], ["overwrite=true"]):
        done = run_cli(["run", *QUIET, "hydra.run.dir=ow", *extra], tmp_path)
        assert done.returncode == 2
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and "hyp.de.txt" in lines[0] and "summary.md" in lines[0], done.stderr
        assert _files(ow) == {"summary.md": b"notes\n", "hyp.de.txt": b"mine\n"}


def test_overwrite_removes_only_what_the_manifest_proves(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    first = run_cli(["run", *QUIET, "hydra.run.dir=run"], tmp_path)
    assert first.returncode == 0, first.stderr
    manifest = json.loads((run_dir / "manifest.json").read_text())["files"]
    assert {"scores.json", "segments.jsonl", "hyp.es.txt", "summary.md", ".hydra/config.yaml"} <= set(
        manifest
    )

    # another pair's hyp file the first run never wrote: overwrite=true refuses, deletes nothing
    (run_dir / "hyp.fr.txt").write_text("the user's French system\n")
    before = _files(run_dir)
    refused = run_cli(["run", *QUIET, "hydra.run.dir=run", "overwrite=true"], tmp_path)
    assert refused.returncode == 2 and "hyp.fr.txt" in refused.stderr
    assert _files(run_dir) == before
    (run_dir / "hyp.fr.txt").unlink()

    # a run file edited since the run wrote it is no longer provably the run's
    (run_dir / "summary.md").write_text("my edits\n")
    edited = run_cli(["run", *QUIET, "hydra.run.dir=run", "overwrite=true"], tmp_path)
    assert edited.returncode == 2 and "summary.md" in edited.stderr
    assert (run_dir / "summary.md").read_text() == "my edits\n"
    (run_dir / "summary.md").unlink()

    (run_dir / "notes.txt").write_text("kept\n")
    replaced = run_cli(["run", *QUIET, "hydra.run.dir=run", "overwrite=true", "round_trip=false"], tmp_path)
    assert replaced.returncode == 0, replaced.stderr
    assert not (run_dir / "rt.en.txt").exists()  # the first run's, proven, removed
    assert (run_dir / "notes.txt").read_text() == "kept\n"
    assert "rt.en.txt" not in json.loads((run_dir / "manifest.json").read_text())["files"]
