"""The tracker config group: checked once, bad values one line before any translation; the tracker
libraries imported only when a tracker is chosen."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mtharness.core import MtharnessError
from mtharness.track.settings import TrackerSettings, tracker_settings
from tests.conftest import run_cli


def test_defaults_and_choices(composed) -> None:  # type: ignore[no-untyped-def]
    assert tracker_settings(None) == TrackerSettings() and not TrackerSettings().enabled
    cfg = composed(["tracker=mlflow", "tracker.uri=sqlite:///x.db"])
    settings = tracker_settings(dict(cfg.tracker))
    assert (settings.kind, settings.uri, settings.experiment, settings.required) == (
        "mlflow",
        "sqlite:///x.db",
        "mtharness",
        False,
    )
    assert composed([]).tracker.name == "none"
    wandb = tracker_settings(
        dict(composed(["tracker=wandb", "tracker.mode=offline", "tracker.group=g"]).tracker)
    )
    assert (wandb.kind, wandb.mode, wandb.group, wandb.project) == ("wandb", "offline", "g", "mtharness")


@pytest.mark.parametrize(
    ("node", "names"),
    [
        ({"name": "neptune"}, "tracker.name=neptune"),
        ({"name": "wandb", "mode": "sometimes"}, "tracker.mode=sometimes"),
        ({"name": "mlflow", "required": "yes"}, "tracker.required='yes'"),
        ({"name": "mlflow", "ci_n": -1}, "tracker.ci_n=-1"),
    ],
)
def test_bad_values_name_the_key(node: dict[str, object], names: str) -> None:
    with pytest.raises(MtharnessError, match=names.replace("'", ".")):
        tracker_settings(node)


def test_bad_mode_fails_before_the_run(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    args = [
        "run",
        "translator=echo",
        "limit=2",
        "tracker=wandb",
        "tracker.mode=sometimes",
        f"hydra.run.dir={run_dir}",
    ]
    proc = run_cli(args, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "mtharness run: error: tracker.mode=sometimes: must be online or offline"
    ]
    assert not (run_dir / "scores.json").exists()


def test_no_tracker_library_is_imported_without_a_tracker() -> None:
    code = (
        "import sys, mtharness.cli.run, mtharness.cli.track, mtharness.track.log, mtharness.track.content; "
        "print(sorted(m for m in ('mlflow', 'wandb') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
