"""Results folders for the `mtharness serve` tests, made by real runs (translator=files on the bundled
sample, no Apertium needed): two systems with round trips, one whose output holds markup, a run with
error spans written into its segments, and a damaged folder."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import REPO, run_cli

SAMPLE = REPO / "src" / "mtharness" / "data" / "sample"
SCRIPT = "<script>alert('x')</script>"


def _degrade(lines: list[str], every: int) -> list[str]:
    """Every ``every``-th line loses its last word: a worse, still plausible system."""
    return [" ".join(line.split()[:-1]) if i % every == 0 else line for i, line in enumerate(lines)]


def make_results(base: Path) -> Path:
    """``base/results`` with runs/strong, runs/weak (output with a <script>), runs/spanned
    (a middle system, with error spans), runs/damaged (a half-written scores.json)."""
    src = SAMPLE.joinpath("sample.en").read_text(encoding="utf-8").splitlines()
    ref = SAMPLE.joinpath("sample.es").read_text(encoding="utf-8").splitlines()
    systems = {
        "strong": (_degrade(ref, 5), _degrade(src, 7)),
        "weak": (_degrade(_degrade(ref, 2), 3), _degrade(src, 2)),
    }
    systems["weak"][0][1] = f"{SCRIPT} & <b>bold</b>"
    systems["spanned"] = (_degrade(ref, 3), _degrade(src, 4))  # a middle system, error spans added
    results = base / "results"
    for name, (forward, back) in systems.items():
        (base / f"{name}.es").write_text("\n".join(forward) + "\n", encoding="utf-8")
        (base / f"{name}.en").write_text("\n".join(back) + "\n", encoding="utf-8")
    # one sweep, one process: runs/<name> for each system (the output files follow the name)
    proc = run_cli(
        [
            "run",
            "-m",
            "translator=files",
            f"translator.name={','.join(systems)}",
            "translator.forward=${translator.name}.es",
            "translator.back=${translator.name}.en",
            "progress=false",
            f"results_dir={results}",
            f"hydra.sweep.dir={results / 'runs'}",
            "hydra.sweep.subdir=${translator.name}",
        ],
        cwd=base,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    add_spans(results / "runs" / "spanned")
    damaged = results / "runs" / "damaged"
    shutil.copytree(results / "runs" / "strong", damaged)
    text = (damaged / "scores.json").read_text(encoding="utf-8")
    (damaged / "scores.json").write_text(text[: len(text) // 2], encoding="utf-8")  # half-written
    return results


def add_spans(out: Path) -> None:
    """Error spans (``spans.forward.xCOMET``) on the first word of every odd segment's translation
    of a run, as a span metric writes them into segments.jsonl."""
    rows = [json.loads(line) for line in (out / "segments.jsonl").read_text(encoding="utf-8").splitlines()]
    for i, row in enumerate(rows):
        if i % 2 == 1 and row.get("forward"):
            word = row["forward"].split()[0]
            span = {"text": word, "start": 0, "end": len(word), "severity": "major", "confidence": 0.9}
            row["spans"] = {"forward": {"xCOMET": [span]}}
    (out / "segments.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
    )


@pytest.fixture(scope="session")
def serve_results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One results folder for every serve test module (tests that add files there remove them)."""
    return make_results(tmp_path_factory.mktemp("serve"))
