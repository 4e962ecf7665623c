"""COMET over several systems at once: each distinct source and reference encoded once, the scores
still equal unbabel-comet's predict() per system (within 1e-5), and compare takes that path.

Real parts only: the managed environment, tiny random-init checkpoints built in it, and a direct
``load_from_checkpoint(...).predict(...)`` per system as the reference (tests/scoring/test_comet.py).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from mtharness.compare.segment_metrics import score_with_model
from mtharness.compare.systems import CompareInput
from mtharness.scoring.comet.cache import CometCache
from mtharness.scoring.comet.metric import CometConfig, CometScorer, CometWorker
from mtharness.scoring.metrics import MetricSpec
from tests.scoring.test_comet import texts

pytestmark = [pytest.mark.comet, pytest.mark.slow]

# the reference: one predict() call per system, as a user of unbabel-comet scores N systems
PREDICT_EACH = """
import json, sys
from comet import load_from_checkpoint
model = load_from_checkpoint(sys.argv[1])
systems = json.load(open(sys.argv[2], encoding="utf-8"))
out = {}
for name, data in systems.items():
    pred = model.predict(data, batch_size=4, gpus=0, progress_bar=False)
    out[name] = {"scores": [float(x) for x in pred.scores], "system_score": float(pred.system_score)}
json.dump(out, open(sys.argv[3], "w"))
"""


def predict_each(python: Path, ckpt: Path, systems: dict[str, list[dict[str, str]]], tmp: Path) -> dict:
    (tmp / "systems.json").write_text(json.dumps(systems), encoding="utf-8")
    (tmp / "predict_each.py").write_text(PREDICT_EACH, encoding="utf-8")
    cmd = [
        str(python),
        "-I",
        str(tmp / "predict_each.py"),
        str(ckpt),
        str(tmp / "systems.json"),
        str(tmp / "o.json"),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900, check=False, cwd=tmp)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads((tmp / "o.json").read_text())


def systems(n: int = 24) -> tuple[list[str], list[str], dict[str, list[str]]]:
    """Four systems with what real comparisons have: a copy of the source, two identical systems,
    an output that is some other segment's reference, and a source that occurs twice."""
    src, ref, hyp = texts(n)
    src[5], ref[5] = src[3], ref[3]  # a repeated segment: same src and ref twice
    outs = {
        "copy": list(src),
        "shifted": hyp,
        "twin": list(hyp),  # identical to "shifted": its items are scored once
        "refs": [ref[(i + 2) % n] for i in range(n)],  # mt strings that are also references
    }
    return src, ref, outs


def test_worker_encodes_each_distinct_string_once_and_equals_predict(tiny_comet: Path) -> None:
    src, ref, outs = systems()
    data = [
        {"src": s, "mt": o[i], "ref": r}
        for o in outs.values()
        for i, (s, r) in enumerate(zip(src, ref, strict=True))
    ]
    worker = CometWorker(CometConfig("comet", str(tiny_comet), batch_size=4))
    try:
        worker.start()
        shared = worker.score(data)
        plain = worker.score(data, via="predict")
    finally:
        worker.close()
    distinct = {t for item in data for t in item.values()}
    assert shared["via"] == "shared" and shared["texts_encoded"] == len(distinct)
    assert plain["via"] == "predict" and plain["texts_encoded"] == 3 * len(data)
    assert len(distinct) < len(data)  # the test really shares: sources and refs are reused by 4 systems
    diffs = [abs(a - b) for a, b in zip(shared["scores"], plain["scores"], strict=True)]
    assert max(diffs) < 1e-5
    assert len({round(s, 6) for s in shared["scores"]}) > 4  # a real model: scores differ by input


@pytest.mark.parametrize("kind", ["comet", "cometkiwi"])
def test_score_systems_equals_predict_per_system(
    kind: str, request: pytest.FixtureRequest, comet_python: Path, tmp_path: Path
) -> None:
    model = request.getfixturevalue("tiny_comet" if kind == "comet" else "tiny_cometkiwi")
    src, ref, outs = systems()
    refs = ref if kind == "comet" else None
    cache = CometCache(tmp_path / "cache")
    with CometScorer(CometConfig(kind, str(model), batch_size=4), cache) as scorer:
        got = scorer.score_systems(src, outs, refs)
        # one request for all four systems; the twin's and the repeated segment's items once (the
        # repeats count as hits, as within one score() call)
        items = [
            (s, o[i], r if refs else None)
            for o in outs.values()
            for i, (s, r) in enumerate(zip(src, ref, strict=True))
        ]
        unique = len(set(items))
        assert scorer.cache_counts == {"hits": len(items) - unique, "misses": unique, "model_calls": 1}
    cache.close()
    assert list(got) == list(outs)
    each = {
        name: [
            {"src": s, "mt": h, **({"ref": r} if refs else {})}
            for s, h, r in zip(src, hyps, ref, strict=True)
        ]
        for name, hyps in outs.items()
    }
    wants = predict_each(comet_python, model / "checkpoints" / "model.ckpt", each, tmp_path)
    for name, want in wants.items():
        result, scores = got[name]
        assert max(abs(a - b) for a, b in zip(scores, want["scores"], strict=True)) < 1e-5, name
        assert abs(result.score - want["system_score"]) < 1e-5
        assert result.name == ("COMET" if kind == "comet" else "CometKiwi")
    assert got["twin"][1] == got["shifted"][1]


def test_compare_scores_all_systems_in_one_pass(
    tiny_comet: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """compare's model path hands every system to the scorer at once (one score() call, one request)."""
    src, ref, outs = systems()
    calls: list[int] = []
    real = CometScorer.score

    def counting(self: CometScorer, *args: Any, **kwargs: Any) -> Any:
        calls.append(len(args[1]))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(CometScorer, "score", counting)
    inp = CompareInput("forward", "es", [ref], outs, sources=src)
    stats = score_with_model(inp, MetricSpec("comet", {"model": str(tiny_comet), "batch_size": 4}), tmp_path)
    assert calls == [len(src) * len(outs)]
    # each system's statistics hold its own segment scores, equal to scoring it alone
    with CometScorer(CometConfig("comet", str(tiny_comet), batch_size=4), CometCache(None)) as alone:
        for name, hyps in outs.items():
            _, scores = alone.score(src, hyps, ref)
            assert stats[name].name == name
            assert abs(stats[name].score - sum(scores) / len(scores)) < 1e-5
