"""COMET / CometKiwi through the managed environment's worker equal unbabel-comet's own predict().

The environment is the real one (`mtharness env setup comet`, tests/helpers/comet_fixtures.py) and the
models are tiny random-init checkpoints built in it by scripts/make_tiny_comet.py; the reference
numbers come from a direct `load_from_checkpoint(...).predict(...)` in that environment.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
from pathlib import Path

import pytest

from mtharness.core import MtharnessError
from mtharness.scoring.comet.cache import CometCache
from mtharness.scoring.comet.metric import CometConfig, CometScorer
from tests.conftest import REPO, run_cli

SAMPLE = REPO / "src" / "mtharness" / "data" / "sample"
PREDICT = """
import json, sys
from comet import load_from_checkpoint
model = load_from_checkpoint(sys.argv[1])
data = json.load(open(sys.argv[2], encoding="utf-8"))
out = model.predict(data, batch_size=int(sys.argv[3]), gpus=0, progress_bar=False)
json.dump({"scores": [float(x) for x in out.scores], "system_score": float(out.system_score)},
          open(sys.argv[4], "w"))
"""


def texts(n: int = 40) -> tuple[list[str], list[str], list[str]]:
    """Sources, references and some imperfect outputs (the next segment's reference, or a copy)."""
    src = (SAMPLE / "sample.en").read_text(encoding="utf-8").splitlines()[:n]
    ref = (SAMPLE / "sample.es").read_text(encoding="utf-8").splitlines()[:n]
    hyp = [ref[(i + 1) % n] if i % 3 else src[i] for i in range(n)]
    return src, ref, hyp


def direct_predict(python: Path, ckpt: Path, data: list[dict[str, str]], batch: int, tmp: Path) -> dict:
    (tmp / "data.json").write_text(json.dumps(data), encoding="utf-8")
    (tmp / "predict.py").write_text(PREDICT, encoding="utf-8")
    proc = subprocess.run(
        [
            str(python),
            "-I",
            str(tmp / "predict.py"),
            str(ckpt),
            str(tmp / "data.json"),
            str(batch),
            str(tmp / "o.json"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=tmp,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads((tmp / "o.json").read_text())


@pytest.mark.comet
@pytest.mark.parametrize("kind", ["comet", "cometkiwi"])
def test_harness_scores_equal_unbabel_predict(
    kind: str, request: pytest.FixtureRequest, comet_python: Path, tmp_path: Path
) -> None:
    model = request.getfixturevalue("tiny_comet" if kind == "comet" else "tiny_cometkiwi")
    src, ref, hyp = texts()
    refs = ref if kind == "comet" else None
    cache = CometCache(tmp_path / "cache")
    with CometScorer(CometConfig(kind, str(model), batch_size=4), cache) as scorer:
        result, segments = scorer.score(src, hyp, refs)
        assert scorer.cache_counts == {"hits": 0, "misses": len(src), "model_calls": 1}
    data = [
        {"src": s, "mt": h, **({"ref": r} if refs else {})} for s, h, r in zip(src, hyp, ref, strict=True)
    ]
    want = direct_predict(comet_python, model / "checkpoints" / "model.ckpt", data, 4, tmp_path)
    assert len(segments) == len(want["scores"])
    assert max(abs(a - b) for a, b in zip(segments, want["scores"], strict=True)) < 1e-6
    assert abs(result.score - want["system_score"]) < 1e-6
    assert len(set(round(s, 6) for s in segments)) > 1  # a real model: scores differ by input
    # the signature names everything COMET scores drift with
    sha = result.extra["checkpoint_sha256"]
    assert len(sha) == 64 and f"ckpt_sha256:{sha[:16]}" in result.signature
    for part in (f"model:{model}", "comet:2.2.7", "batch:4", "device:cpu", f"nrefs:{1 if refs else 0}"):
        assert part in result.signature
    assert result.name == ("COMET" if kind == "comet" else "CometKiwi") and result.higher_is_better

    # the same inputs again: every segment from the cache, no worker started, same numbers
    with CometScorer(CometConfig(kind, str(model), batch_size=4), cache) as again:
        result2, segments2 = again.score(src, hyp, refs)
        assert again.cache_counts == {"hits": len(src), "misses": 0, "model_calls": 0}
        assert again.worker.proc is None and segments2 == segments and result2.score == result.score
    cache.close()


@pytest.mark.comet
def test_reference_based_model_refused_as_cometkiwi(tiny_comet: Path) -> None:
    src, _, hyp = texts(3)
    with (
        CometScorer(CometConfig("cometkiwi", str(tiny_comet)), CometCache(None)) as scorer,
        pytest.raises(MtharnessError, match="reference-based: use metrics=") as err,
    ):
        scorer.score(src, hyp, None)
    assert "\n" not in str(err.value)


@pytest.mark.comet
def test_worker_killed_mid_batch_is_one_line(tiny_comet: Path) -> None:
    src, ref, hyp = texts(150)
    many = 30  # ~4500 segments: seconds of work for the tiny model, so the kill lands mid-batch
    with CometScorer(CometConfig("comet", str(tiny_comet), batch_size=2), CometCache(None)) as scorer:
        scorer._ensure_worker()
        assert scorer.worker.proc is not None
        pid = scorer.worker.proc.pid
        threading.Timer(0.5, os.kill, (pid, signal.SIGKILL)).start()
        with pytest.raises(MtharnessError, match="died while scoring a batch") as err:
            scorer.score(
                [s for s in src for _ in range(many)],
                [f"{h} {i}" for h in hyp for i in range(many)],
                [r for r in ref for _ in range(many)],
            )
    message = str(err.value)
    assert "\n" not in message and "exit code -9" in message and "rerun" in message


@pytest.mark.comet
def test_env_check_reports_ok(comet_env: Path, tmp_path: Path) -> None:
    proc = run_cli(["env", "check"], tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("comet: ok (") and "unbabel-comet 2.2.7" in proc.stdout
    assert proc.stdout.count("\n") == 1


def test_env_check_without_the_environment_is_exit_2(tmp_path: Path) -> None:
    proc = run_cli(["env", "check"], tmp_path, env={"MTHARNESS_ENVS_DIR": str(tmp_path / "none")})
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "mtharness env setup comet" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("metric", ["comet", "cometkiwi"])
def test_run_without_the_environment_says_the_command(metric: str, tmp_path: Path) -> None:
    """Exit 2 before translating: one line naming `mtharness env setup comet`, no run folder."""
    proc = run_cli(
        [
            "run",
            "translator=echo",
            "limit=3",
            "progress=false",
            f"metrics=[bleu,{metric}]",
            f"results_dir={tmp_path}/r",
        ],
        tmp_path,
        env={"MTHARNESS_ENVS_DIR": str(tmp_path / "none"), "MTHARNESS_CACHE_DIR": str(tmp_path / "c")},
    )
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "`mtharness env setup comet`" in lines[0], proc.stderr
    assert not list((tmp_path / "r").rglob("scores.json"))


def test_run_with_a_missing_checkpoint_is_one_line(tmp_path: Path) -> None:
    fake_env = tmp_path / "envs" / "comet"
    (fake_env / "bin").mkdir(parents=True)
    (fake_env / "bin" / "python").symlink_to("/bin/false")
    (fake_env / "mtharness-env.json").write_text("{}")
    proc = run_cli(
        [
            "run",
            "translator=echo",
            "limit=3",
            "progress=false",
            "metrics=[comet]",
            f"metrics.comet.model={tmp_path}/no-such-model",
            f"results_dir={tmp_path}/r",
        ],
        tmp_path,
        env={"MTHARNESS_ENVS_DIR": str(tmp_path / "envs"), "MTHARNESS_CACHE_DIR": str(tmp_path / "c")},
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "no-such-model not found" in lines[0], proc.stderr
    assert not list((tmp_path / "r").rglob("scores.json"))


def test_bad_comet_keys_are_one_line(tmp_path: Path) -> None:
    proc = run_cli(
        [
            "run",
            "translator=echo",
            "limit=3",
            "metrics=[comet]",
            "metrics.comet.batch_size=0",
            f"results_dir={tmp_path}",
        ],
        tmp_path,
    )
    assert proc.returncode == 2 and "metrics.comet.batch_size must be a positive integer" in proc.stderr


@pytest.mark.comet
def test_hub_id_offline_says_how_to_use_a_local_checkpoint(comet_env: Path, tmp_path: Path) -> None:
    """The default hub id with HF_HUB_OFFLINE=1: one line naming the key and the way out, exit 2."""
    proc = run_cli(
        [
            "run",
            "translator=echo",
            "limit=2",
            "progress=false",
            "round_trip=false",
            "metrics=[cometkiwi]",
            f"results_dir={tmp_path}/r",
        ],
        tmp_path,
        env={"HF_HUB_OFFLINE": "1", "MTHARNESS_CACHE_DIR": str(tmp_path / "c")},
        timeout=600,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "metrics.cometkiwi.model Unbabel/wmt22-cometkiwi-da" in lines[0]
    assert "set it to a local checkpoint" in lines[0] and "checkpoints/model.ckpt" in lines[0]
