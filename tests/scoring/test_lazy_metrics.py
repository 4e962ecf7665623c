"""A metric's modules are imported only when something asks for that metric: `mtharness run
metrics=[bleu]` imports no COMET module (scoring.registry names them by path, loaded on first use)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

# runs the console script's main in this interpreter, then lists the mtharness modules it imported
WRAPPER = """
import json, sys
out = sys.argv[1]
sys.argv = ["mtharness", *sys.argv[2:]]
from mtharness.cli import main
try:
    code = main()
except SystemExit as exc:
    code = exc.code
with open(out, "w") as fh:
    json.dump({"code": code, "modules": sorted(m for m in sys.modules if m.startswith("mtharness"))}, fh)
"""


def _modules(tmp_path: Path, *argv: str) -> list[str]:
    listing = tmp_path / "modules.json"
    proc = subprocess.run(
        [sys.executable, "-c", WRAPPER, str(listing), *argv],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0 and listing.is_file(), proc.stderr[-2000:]
    result = json.loads(listing.read_text(encoding="utf-8"))
    assert result["code"] in (0, None), proc.stderr[-2000:]
    return list(result["modules"])


def test_a_bleu_run_imports_no_comet_module(tmp_path: Path) -> None:
    modules = _modules(
        tmp_path,
        "run",
        "translator=echo",
        "metrics=[bleu]",
        "limit=3",
        "progress=false",
        "cache.enabled=false",
        f"hydra.run.dir={tmp_path / 'run'}",
    )
    assert (tmp_path / "run" / "scores.json").is_file()
    assert "mtharness.scoring.registry" in modules and "mtharness.run.evaluate" in modules  # it did run
    comet = [m for m in modules if m.startswith("mtharness.scoring.comet")]
    assert comet == [], comet


def test_asking_for_comet_imports_it(tmp_path: Path) -> None:
    """The other side of the test above: the registry loads COMET's module once a spec names it."""
    code = (
        "import sys; from mtharness.scoring.metrics import MetricSpec; "
        "before = 'mtharness.scoring.comet.metric' in sys.modules; info = MetricSpec('COMET').info; "
        "print(before, info.kind, info.precision, 'mtharness.scoring.comet.metric' in sys.modules)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["False", "comet", "4", "True"]
