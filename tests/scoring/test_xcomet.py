"""xCOMET / xCOMET-QE: scores and error spans equal unbabel-comet's own predict(), and runs store them.

The environment is the real managed one (tests/helpers/comet_fixtures.py); the checkpoint is a tiny
random-init XCOMET built by scripts/make_tiny_comet.py --kind xcomet, whose word-level head bias
makes predict() tag spans. The reference comes from a direct load_from_checkpoint(...).predict(...).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from mtharness.core import MtharnessError
from mtharness.scoring import registry
from mtharness.scoring.comet.cache import CometCache
from mtharness.scoring.comet.metric import CometConfig
from mtharness.scoring.comet.xcomet import XCometScorer
from tests.conftest import REPO, run_cli

SAMPLE = REPO / "src" / "mtharness" / "data" / "sample"
PREDICT = """
import json, sys
from comet import load_from_checkpoint
model = load_from_checkpoint(sys.argv[1])
data = json.load(open(sys.argv[2], encoding="utf-8"))
out = model.predict(data, batch_size=int(sys.argv[3]), gpus=0, progress_bar=False)
spans = [[{"text": s["text"], "start": int(s["start"]), "end": int(s["end"]),
           "severity": s["severity"], "confidence": float(s["confidence"])} for s in seg]
         for seg in out.metadata.error_spans]
json.dump({"scores": [float(x) for x in out.scores], "system_score": float(out.system_score),
           "spans": spans}, open(sys.argv[4], "w"))
"""
SCRIPT = ("Hello world.", "Hola <script>mundo</script>.", "Hola mundo.")  # the word head tags it


def texts(n: int = 24) -> tuple[list[str], list[str], list[str]]:
    src = (SAMPLE / "sample.en").read_text(encoding="utf-8").splitlines()[:n]
    ref = (SAMPLE / "sample.es").read_text(encoding="utf-8").splitlines()[:n]
    hyp = [ref[(i + 1) % n] if i % 3 else src[i] for i in range(n)]
    src[0], hyp[0], ref[0] = SCRIPT
    return src, ref, hyp


def direct_predict(python: Path, model: Path, data: list[dict[str, str]], tmp: Path) -> dict:
    (tmp / "data.json").write_text(json.dumps(data), encoding="utf-8")
    (tmp / "predict.py").write_text(PREDICT, encoding="utf-8")
    ckpt = model / "checkpoints" / "model.ckpt"
    proc = subprocess.run(
        [
            str(python),
            "-I",
            str(tmp / "predict.py"),
            str(ckpt),
            str(tmp / "data.json"),
            "4",
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


def test_score_names_resolve_to_their_kinds() -> None:
    assert registry.resolve("xCOMET") == "xcomet"
    assert registry.resolve("xCOMET-QE") == "xcomet_qe"
    info = registry.get("xcomet_qe").info
    assert info.score_name == "xCOMET-QE" and not info.needs_references and info.precision == 4
    assert registry.get("xcomet").info.range == (0.0, 1.0) and registry.get("xcomet").info.higher_is_better


@pytest.mark.comet
@pytest.mark.parametrize("kind", ["xcomet", "xcomet_qe"])
def test_scores_and_spans_equal_unbabel_predict(
    kind: str, tiny_xcomet: Path, comet_python: Path, tmp_path: Path
) -> None:
    src, ref, hyp = texts()
    refs = ref if kind == "xcomet" else None
    cache = CometCache(tmp_path / "cache")
    with XCometScorer(CometConfig(kind, str(tiny_xcomet), batch_size=4), cache) as scorer:
        result, segments = scorer.score(src, hyp, refs)
        spans = scorer.spans()
        assert scorer.cache_counts == {"hits": 0, "misses": len(src), "model_calls": 1}
    data = [
        {"src": s, "mt": h, **({"ref": r} if refs else {})} for s, h, r in zip(src, hyp, ref, strict=True)
    ]
    want = direct_predict(comet_python, tiny_xcomet, data, tmp_path)
    assert max(abs(a - b) for a, b in zip(segments, want["scores"], strict=True)) < 1e-6
    assert abs(result.score - want["system_score"]) < 1e-6
    assert result.name == ("xCOMET" if kind == "xcomet" else "xCOMET-QE") and result.precision == 4
    assert spans == want["spans"]
    assert sum(len(s) for s in spans) > 0  # the biased word head tags something: a real comparison
    assert any("<script>" in sp["text"] for sp in spans[0])

    # again from the cache: no worker, identical scores and spans (the <script> text verbatim)
    with XCometScorer(CometConfig(kind, str(tiny_xcomet), batch_size=4), cache) as again:
        _, segments2 = again.score(src, hyp, refs)
        assert again.cache_counts == {"hits": len(src), "misses": 0, "model_calls": 0}
        assert again.worker.proc is None and segments2 == segments and again.spans() == spans
    cache.close()


def _run(tmp_path: Path, model: Path) -> Path:
    args = ["run", "translator=echo", "limit=5", "metrics=[bleu,xcomet]", f"metrics.xcomet.model={model}"]
    proc = run_cli([*args, f"results_dir={tmp_path / 'results'}", "overwrite=true"], tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return Path(proc.stdout.strip().splitlines()[-1].split("results: ", 1)[1])


@pytest.mark.comet
@pytest.mark.slow
def test_run_stores_xcomet_scores_and_spans_and_rerun_hits_the_cache(
    tiny_xcomet: Path, tmp_path: Path
) -> None:
    first = _run(tmp_path, tiny_xcomet)
    scores = json.loads((first / "scores.json").read_text())
    rows = [json.loads(line) for line in (first / "segments.jsonl").read_text().splitlines()]
    assert len(rows) == 5
    forward = [r["scores"]["forward"]["xCOMET"] for r in rows]
    assert abs(sum(forward) / 5 - scores["scores"]["forward"]["xCOMET"]["score"]) < 1e-12
    for row in rows:
        for direction in ("forward", "round_trip"):
            for span in row["spans"][direction]["xCOMET"]:
                assert set(span) == {"text", "start", "end", "severity", "confidence", "source_metric"}
                assert span["source_metric"] == "xCOMET" and span["severity"] in (
                    "minor",
                    "major",
                    "critical",
                )
    assert scores["comet_cache"]["model_calls"] >= 1
    assert any(row["spans"][d]["xCOMET"] for row in rows for d in ("forward", "round_trip"))

    second = _run(tmp_path, tiny_xcomet)
    again = json.loads((second / "scores.json").read_text())
    assert again["comet_cache"]["model_calls"] == 0 and again["comet_cache"]["misses"] == 0
    rows2 = [json.loads(line) for line in (second / "segments.jsonl").read_text().splitlines()]
    assert [r["spans"] for r in rows2] == [r["spans"] for r in rows]
    assert [r["scores"] for r in rows2] == [r["scores"] for r in rows]


@pytest.mark.comet
def test_a_comet_checkpoint_is_refused_as_xcomet(tiny_comet: Path) -> None:
    src, ref, hyp = texts(3)
    with (
        XCometScorer(CometConfig("xcomet", str(tiny_comet)), CometCache(None)) as scorer,
        pytest.raises(MtharnessError, match="not an XCOMET model") as err,
    ):
        scorer.score(src, hyp, ref)
    assert "\n" not in str(err.value) and "RegressionMetric" in str(err.value)


@pytest.mark.comet
@pytest.mark.slow
def test_a_span_with_markup_is_stored_verbatim(tiny_xcomet: Path, tmp_path: Path) -> None:
    data = tmp_path / "markup.tsv"
    data.write_text(f"source\treference\n{SCRIPT[1]}\t{SCRIPT[2]}\n", encoding="utf-8")
    args = ["run", "translator=echo", "dataset=tsv", f"dataset.path={data}", "dataset.src_lang=es"]
    args += [
        "dataset.tgt_lang=en",
        "round_trip=false",
        "metrics=[xcomet]",
        f"metrics.xcomet.model={tiny_xcomet}",
    ]
    proc = run_cli([*args, f"results_dir={tmp_path / 'results'}"], tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    run_dir = Path(proc.stdout.strip().splitlines()[-1].split("results: ", 1)[1])
    (row,) = [json.loads(line) for line in (run_dir / "segments.jsonl").read_text().splitlines()]
    texts_ = [span["text"] for span in row["spans"]["forward"]["xCOMET"]]
    assert any("<script>" in t for t in texts_), texts_  # the markup kept as text, not escaped or dropped
