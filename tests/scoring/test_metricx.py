"""MetricX-24 in the main environment: batched, length-sorted scores equal the model read one segment at a
time through transformers' MT5 classes (the definition of google-research/metricx's MT5ForRegression:
the first decoder step's logit at index 250089, clamped to [0, 25]), in ref and QE modes."""

from __future__ import annotations

from pathlib import Path

import pytest

from mtharness.core import MtharnessError
from mtharness.scoring.metricx import (
    SCORE_INDEX,
    MetricXConfig,
    MetricXScorer,
    metricx_config,
    model_input,
)
from tests.helpers.installed import require

require("torch")
require("transformers")
pytestmark = pytest.mark.hf

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "src" / "mtharness" / "data" / "sample"


def _texts() -> tuple[list[str], list[str], list[str]]:
    sources = [x for x in (SAMPLE / "sample.en").read_text(encoding="utf-8").splitlines() if x.strip()][:30]
    refs = [x for x in (SAMPLE / "sample.es").read_text(encoding="utf-8").splitlines() if x.strip()][:30]
    # a mix of good, scrambled, empty and repeated candidates: repeats exercise the de-duplication
    hyps = [r if i % 3 == 0 else " ".join(reversed(r.split())) for i, r in enumerate(refs)]
    hyps[4] = ""
    sources[7], hyps[7], refs[7] = sources[1], hyps[1], refs[1]
    return sources, hyps, refs


def _one_at_a_time(folder: Path, texts: list[str], max_len: int) -> list[float]:
    """The reference definition, independently: batch size 1, full logits, index 250089, clamp."""
    import torch
    from transformers import AutoTokenizer, MT5ForConditionalGeneration

    tok = AutoTokenizer.from_pretrained(str(folder / "tokenizer"))
    model = MT5ForConditionalGeneration.from_pretrained(str(folder / "model")).eval()
    out = []
    with torch.no_grad():
        for text in texts:
            ids = tok(text, max_length=max_len, truncation=True)["input_ids"][:-1]
            input_ids = torch.tensor([ids])
            logits = model(
                input_ids=input_ids,
                attention_mask=torch.ones_like(input_ids),
                decoder_input_ids=torch.zeros((1, 1), dtype=torch.long),
            ).logits
            out.append(float(torch.clamp(logits[0, 0, SCORE_INDEX], 0, 25)))
    return out


@pytest.mark.parametrize("mode", ["ref", "qe"])
@pytest.mark.parametrize("max_len", [1536, 40])
def test_batched_scores_equal_one_at_a_time(tiny_metricx: Path, mode: str, max_len: int) -> None:
    sources, hyps, refs = _texts()
    cfg = MetricXConfig(
        model=str(tiny_metricx / "model"),
        tokenizer=str(tiny_metricx / "tokenizer"),
        mode=mode,
        batch_size=4,
        max_input_length=max_len,
    )
    ours = MetricXScorer(cfg).score(sources, hyps, refs if mode == "ref" else None)
    texts = [model_input(s, h, r, mode) for s, h, r in zip(sources, hyps, refs, strict=True)]
    expected = _one_at_a_time(tiny_metricx, texts, max_len)
    assert len(ours) == len(sources)
    assert max(abs(a - b) for a, b in zip(ours, expected, strict=True)) < 1e-4
    # the checkpoint is built so that scores land inside the range, not all clamped to one end
    assert min(ours) > 0.0 and max(ours) < 25.0 and len({round(x, 3) for x in ours}) > 5
    assert ours[7] == ours[1]


def test_identical_inputs_are_scored_once(tiny_metricx: Path) -> None:
    cfg = MetricXConfig(model=str(tiny_metricx / "model"), tokenizer=str(tiny_metricx / "tokenizer"))
    scorer = MetricXScorer(cfg)
    seen: list[int] = []
    original = scorer._score_unique

    def counting(texts: list[str]) -> list[float]:
        seen.append(len(texts))
        return original(texts)

    scorer._score_unique = counting  # type: ignore[method-assign]
    scores = scorer.score(["a b", "a b", "c"], ["x", "x", "y"], ["r", "r", "s"])
    assert seen == [2] and scores[0] == scores[1]


def test_input_text_follows_the_reference_layout() -> None:
    assert model_input("S", "H", "R", "ref") == "source: S candidate: H reference: R"
    assert model_input("S", "H", None, "qe") == "source: S candidate: H"
    with pytest.raises(MtharnessError, match="needs references"):
        model_input("S", "H", None, "ref")


def test_config_is_checked_key_by_key() -> None:
    assert metricx_config({"metric": "metricx"}).max_input_length == 1536
    for bad, match in [
        ({"mode": "both"}, "mode must be ref or qe"),
        ({"batch_size": 0}, "batch_size must be a positive integer"),
        ({"max_input_length": "long"}, "max_input_length"),
        ({"dtype": "int8"}, "dtype must be one of"),
        ({"device": "tpu"}, "device must be cpu, cuda"),
        ({"modle": "x"}, "unknown key"),
    ]:
        with pytest.raises(MtharnessError, match=match):
            metricx_config(bad)


def test_missing_checkpoint_and_small_vocabulary_are_one_line(tiny_metricx: Path, tmp_path: Path) -> None:
    tok = str(tiny_metricx / "tokenizer")
    with pytest.raises(MtharnessError, match=r"metrics.metricx.model=.*could not be loaded") as err:
        MetricXScorer(MetricXConfig(model=str(tmp_path / "nothing"), tokenizer=tok)).load()
    assert "\n" not in str(err.value)
    with pytest.raises(MtharnessError, match=r"metrics.metricx.tokenizer=.*could not be loaded"):
        MetricXScorer(MetricXConfig(model=str(tiny_metricx / "model"), tokenizer=str(tmp_path / "no"))).load()

    from transformers import MT5Config, MT5ForConditionalGeneration

    small = tmp_path / "small"
    MT5ForConditionalGeneration(
        MT5Config(vocab_size=1000, d_model=8, d_kv=4, d_ff=16, num_layers=1, num_heads=2)
    ).save_pretrained(str(small))
    with pytest.raises(MtharnessError, match="too few for MetricX-24's score at index 250089"):
        MetricXScorer(MetricXConfig(model=str(small), tokenizer=tok)).load()


def _run(tmp_path: Path, folder: Path, *extra: str):  # type: ignore[no-untyped-def]
    from tests.conftest import run_cli

    return run_cli(
        [
            "run",
            "translator=echo",
            "limit=6",
            "progress=false",
            "metrics=[bleu,metricx]",
            f"metrics.metricx.model={folder / 'model'}",
            f"metrics.metricx.tokenizer={folder / 'tokenizer'}",
            *extra,
        ],
        cwd=tmp_path,
    )


@pytest.mark.slow
def test_run_scores_metricx_in_both_directions_lower_is_better(tiny_metricx: Path, tmp_path: Path) -> None:
    import json

    out = tmp_path / "run"
    proc = _run(tmp_path, tiny_metricx, f"hydra.run.dir={out}")
    assert proc.returncode == 0, proc.stderr
    scores = json.loads((out / "scores.json").read_text(encoding="utf-8"))["scores"]
    rows = [json.loads(x) for x in (out / "segments.jsonl").read_text(encoding="utf-8").splitlines()]
    for direction in ("forward", "round_trip"):
        stored = scores[direction]["MetricX"]
        assert stored["higher_is_better"] is False
        assert "mode:ref" in stored["signature"] and "maxlen:1536" in stored["signature"]
        segment = [r["scores"][direction]["MetricX"] for r in rows]
        assert len(segment) == 6 and all(0.0 <= x <= 25.0 for x in segment)
        assert abs(stored["score"] - sum(segment) / len(segment)) < 1e-9
    # the stored segment scores are the model's: the same texts scored directly give the same numbers
    cfg = MetricXConfig(model=str(tiny_metricx / "model"), tokenizer=str(tiny_metricx / "tokenizer"))
    direct = MetricXScorer(cfg).score(
        [r["source"] for r in rows], [r["forward"] for r in rows], [r["references"][0] for r in rows]
    )
    assert max(abs(a - r["scores"]["forward"]["MetricX"]) for a, r in zip(direct, rows, strict=True)) < 1e-5


@pytest.mark.slow
def test_bad_checkpoints_stop_the_run_before_translating(tiny_metricx: Path, tmp_path: Path) -> None:
    from transformers import MT5Config, MT5ForConditionalGeneration

    small = tmp_path / "small"
    MT5ForConditionalGeneration(
        MT5Config(vocab_size=1000, d_model=8, d_kv=4, d_ff=16, num_layers=1, num_heads=2)
    ).save_pretrained(str(small / "model"))
    (small / "tokenizer").symlink_to(tiny_metricx / "tokenizer")
    for folder, words in [(small, "too few for MetricX-24"), (tmp_path / "absent", "could not be loaded")]:
        out = tmp_path / f"run_{folder.name}"
        proc = _run(tmp_path, folder, f"hydra.run.dir={out}")
        assert proc.returncode == 2, proc.stderr
        lines = [x for x in proc.stderr.splitlines() if x.strip()]
        assert len(lines) == 1 and words in lines[0] and "Traceback" not in proc.stderr
        assert not (out / "scores.json").exists() and not (out / "hyp.es.txt").exists()


def test_presets_compose_offline() -> None:
    from tests.conftest import compose

    for preset, model in [
        ("metricx", "google/metricx-24-hybrid-large-v2p6"),
        ("metricx_xl", "google/metricx-24-hybrid-xl-v2p6"),
        ("metricx_xxl", "google/metricx-24-hybrid-xxl-v2p6"),
    ]:
        cfg = compose([f"metrics=[bleu,{preset}]"])
        node = cfg.metrics.metricx  # type: ignore[attr-defined]
        assert node.model == model and node.tokenizer == "google/mt5-xl" and node.max_input_length == 1536
        metricx_config({k: v for k, v in node.items()})


# MetricX mode=ref on a dataset without references and no round trip would score nothing: one line,
# exit 2, before any translation (the sample in de has no references); mode=qe goes ahead.
def _run_no_refs(tmp_path: Path, folder: Path, out: Path, *extra: str):  # type: ignore[no-untyped-def]
    from tests.conftest import run_cli

    return run_cli(
        [
            "run",
            "translator=echo",
            "dataset.tgt_lang=de",
            "limit=4",
            "progress=false",
            "round_trip=false",
            "metrics=[metricx]",
            f"metrics.metricx.model={folder / 'model'}",
            f"metrics.metricx.tokenizer={folder / 'tokenizer'}",
            f"hydra.run.dir={out}",
            *extra,
        ],
        cwd=tmp_path,
    )


def test_ref_mode_without_references_stops_before_translating(tiny_metricx: Path, tmp_path: Path) -> None:
    out = tmp_path / "ref"
    proc = _run_no_refs(tmp_path, tiny_metricx, out)
    assert proc.returncode == 2, proc.stderr
    lines = [x for x in proc.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and "needs references" in lines[0] and "mode=qe" in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr and not (out / "hyp.de.txt").exists()


@pytest.mark.slow
def test_qe_mode_without_references_scores_the_forward_direction(tiny_metricx: Path, tmp_path: Path) -> None:
    import json

    out = tmp_path / "qe"
    proc = _run_no_refs(tmp_path, tiny_metricx, out, "metrics.metricx.mode=qe")
    assert proc.returncode == 0, proc.stderr
    scores = json.loads((out / "scores.json").read_text(encoding="utf-8"))["scores"]
    assert 0.0 <= scores["forward"]["MetricX"]["score"] <= 25.0
