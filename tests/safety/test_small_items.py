"""Issue 26 (13): the smaller items, each through the console script where it is user-facing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mtharness.scoring.comet.metric import model_key
from tests.conftest import run_cli
from tests.helpers.openai_fault_server import FaultServer


def _one_line(done) -> str:  # type: ignore[no-untyped-def]
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


def test_unresolvable_interpolation_is_only_our_line(tmp_path: Path) -> None:
    done = run_cli(["run", "translator=echo", "limit=${nope}", "progress=false"], tmp_path)
    assert "Interpolation key 'nope' not found" in _one_line(done)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["gate", "--baseline", "b.json", "--current", "r", "--max-drop", "BLEU=-1"], "cannot be negative"),
        (["gate", "--baseline", "b.json", "--current", "r", "--max-drop", "BLEU=inf"], "not a finite number"),
        (["gate", "--baseline", "b.json", "--current", "r", "--min-score", "BLEU=nan"], "NAME=NUMBER"),
        (["gate", "--baseline", "b.json", "--current", "r", "--alpha", "7"], "--alpha"),
        (["compare", "--refs", "r.de", "--systems", "s.de", "--alpha", "7"], "--alpha 7.0"),
        (["compare", "--refs", "r.de", "--systems", "s.de", "--jobs", "-3"], "--jobs -3"),
        (["align", "a.txt", "b.txt", "--min-similarity", "3"], "--min-similarity"),
    ],
)
def test_out_of_range_flags_are_refused(tmp_path: Path, args: list[str], says: str) -> None:
    (tmp_path / "b.json").write_text("{}\n")
    assert says in _one_line(run_cli(args, tmp_path))


def test_missing_data_root_names_the_variable(tmp_path: Path) -> None:
    env = {"MTHARNESS_DATA": "/nonexistent"}
    assert "MTHARNESS_DATA=/nonexistent: no such folder" in _one_line(run_cli(["datasets"], tmp_path, env))
    run = ["run", "dataset=wmt", "dataset.testset=wmt23", "dataset.pair=en-de", "translator=echo", "limit=2"]
    assert "MTHARNESS_DATA=/nonexistent" in _one_line(run_cli([*run, "hydra.run.dir=r"], tmp_path, env))


def test_broken_test_sets_are_listed_as_broken(tmp_path: Path) -> None:
    data = tmp_path / "data"
    for name, src, ref in [
        ("short", b"a\nb\n", b"A\n"),
        ("badutf8", b"\xff\n", b"x\n"),
        ("good", b"a\n", b"A\n"),
    ]:
        (data / name / "en-de").mkdir(parents=True)
        (data / name / "en-de" / "src.en").write_bytes(src)
        (data / name / "en-de" / "ref.A.de").write_bytes(ref)
    done = run_cli(["datasets", "--json", "-"], tmp_path, {"MTHARNESS_DATA": str(data)})
    assert done.returncode == 0, done.stderr
    rows = {r["testset"]: r for r in json.loads(done.stdout)["testsets"]}
    assert rows["good"]["segments"] == 1 and "broken" not in rows["good"]
    assert rows["short"]["broken"] == "reference ref.A.de has 1 lines, the source 2"
    assert "invalid UTF-8" in rows["badutf8"]["broken"]
    assert "BROKEN: reference ref.A.de has 1 lines" in done.stderr


@pytest.mark.hf
def test_missing_local_llm_folder_says_so(tmp_path: Path) -> None:
    pytest.importorskip("transformers")
    args = ["run", "translator=llm", "translator.model=/nonexistent/llm", "limit=2", "hydra.run.dir=r"]
    line = _one_line(run_cli([*args, "progress=false"], tmp_path))
    assert "no such folder" in line and "Repo id" not in line


def test_comet_cache_key_covers_hparams(tmp_path: Path) -> None:
    ckpt = tmp_path / "model" / "checkpoints" / "model.ckpt"
    ckpt.parent.mkdir(parents=True)
    ckpt.write_bytes(b"weights")
    (tmp_path / "model" / "hparams.yaml").write_text("pretrained_model: xlm-roberta-large\n")
    first = model_key("abc", ckpt)
    (tmp_path / "model" / "hparams.yaml").write_text("pretrained_model: xlm-roberta-large\nlayer: 3\n")
    assert model_key("abc", ckpt) != first != "abc"
    assert model_key("abc", tmp_path / "loose.ckpt") == "abc"  # no COMET folder around it


def test_httpx_logs_no_line_per_request(tmp_path: Path) -> None:
    (tmp_path / "src.en").write_text("one\ntwo\nthree\n")
    (tmp_path / "ref.es").write_text("ONE\nTWO\nTHREE\n")
    with FaultServer() as server:
        args = [
            "run",
            "translator=openai",
            "translator.model=tiny",
            f"translator.base_url={server.base_url}",
            "dataset=files",
            "dataset.src=src.en",
            "dataset.refs=[ref.es]",
            "dataset.src_lang=en",
            "dataset.tgt_lang=es",
            "progress=false",
            "validity.langid.enabled=false",
            "cache.enabled=false",
            "hydra.run.dir=run",
        ]
        done = run_cli(args, tmp_path)
    assert done.returncode == 0, done.stderr
    log = (tmp_path / "run" / "run.log").read_text()
    for text in (done.stdout, done.stderr, log):
        assert "HTTP Request" not in text and "/chat/completions" not in text
