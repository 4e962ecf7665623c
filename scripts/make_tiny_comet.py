"""Build a tiny, randomly initialised COMET or CometKiwi-style checkpoint offline.

Run it with the managed environment's python (unbabel-comet lives there, not in the main venv):

    $(mtharness env check >/dev/null && echo ~/.cache/mtharness/envs/comet)/bin/python \\
        scripts/make_tiny_comet.py --kind comet --out /tmp/tiny-comet

``--kind comet`` builds a reference-based ``RegressionMetric`` (like Unbabel/wmt22-comet-da);
``--kind cometkiwi`` a reference-free ``UnifiedMetric`` with input_segments [mt, src] (the
wmt22-cometkiwi-da layout). The encoder is a 2-layer XLM-R with a sentencepiece model trained here
on the given text files (default: the bundled sample data), so nothing is downloaded. The folder
has the layout a hub download has: ``hparams.yaml`` and ``checkpoints/model.ckpt``, plus ``encoder/``
(the tokenizer and config that hparams.yaml's pretrained_model points at). The scores mean nothing;
the checkpoint exists to test that the harness scores exactly what unbabel-comet's predict() does.

``--kind xcomet`` (or ``xcomet_qe``: the same model, xCOMET-QE is XCOMET scored without references)
builds an ``XCOMETMetric`` with a word-level head. Random weights tag no subword as an error, so the
head's bias is set to favour the error labels (``--span-bias``): ``predict()`` then returns error
spans in ``metadata.error_spans``, which the harness must store exactly.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

SAMPLE = Path(__file__).resolve().parents[1] / "src" / "mtharness" / "data" / "sample"


def training_text(paths: list[Path]) -> list[str]:
    lines: list[str] = []
    for path in paths:
        lines += [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    if len(lines) < 20:
        sys.exit(f"make_tiny_comet: only {len(lines)} lines of text in {paths}; give more with --text")
    return lines


def build_encoder(folder: Path, lines: list[str], vocab: int, hidden: int = 32, layers: int = 2) -> None:
    """A sentencepiece model trained on ``lines``, saved as an XLM-R tokenizer + tiny config."""
    import sentencepiece as spm
    from transformers import XLMRobertaConfig, XLMRobertaTokenizer, XLMRobertaTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines),
        model_writer=model,
        vocab_size=vocab,
        hard_vocab_limit=False,  # small text: take what it can
        model_type="unigram",
        character_coverage=1.0,
        minloglevel=2,
    )
    (folder / "sentencepiece.bpe.model").write_bytes(model.getvalue())
    slow = XLMRobertaTokenizer(vocab_file=str(folder / "sentencepiece.bpe.model"), model_max_length=512)
    fast = XLMRobertaTokenizerFast(__slow_tokenizer=slow, model_max_length=512)
    fast.save_pretrained(folder)
    config = XLMRobertaConfig(
        vocab_size=len(fast),
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=2,
        intermediate_size=2 * hidden,
        max_position_embeddings=514,
        pad_token_id=fast.pad_token_id,
        bos_token_id=fast.bos_token_id,
        eos_token_id=fast.eos_token_id,
    )
    config.save_pretrained(folder)


XCOMET_KINDS = ("xcomet", "xcomet_qe")
SPAN_BIAS = (0.0, 0.8, 0.4, 0.2)  # labels OK, minor, major, critical: some subwords become errors


def build_metric(kind: str, encoder: Path, span_bias: tuple[float, ...] = SPAN_BIAS):  # type: ignore[no-untyped-def]
    from comet.models import RegressionMetric, UnifiedMetric

    common = {
        "encoder_model": "XLM-RoBERTa",
        "pretrained_model": str(encoder),
        "load_pretrained_weights": False,
        "hidden_sizes": [64, 32],
        "layer_transformation": "sparsemax",
        "dropout": 0.1,
    }
    if kind == "comet":
        return RegressionMetric(layer="mix", pool="avg", **common)
    if kind in XCOMET_KINDS:
        import torch
        from comet.models import XCOMETMetric

        metric = XCOMETMetric(word_layer=2, **common)
        with torch.no_grad():  # the word-level head (hidden2tag): bias towards the error labels
            metric.hidden2tag.bias.copy_(torch.tensor(span_bias))
        return metric
    # wmt22-cometkiwi-da: a UnifiedMetric reading [mt, src], sentence level only
    return UnifiedMetric(
        sent_layer="mix", word_layer=1, layer_norm=False, input_segments=["mt", "src"], **common
    )


def save(metric, out: Path) -> Path:  # type: ignore[no-untyped-def]
    import pytorch_lightning as ptl
    import yaml

    ckpt = out / "checkpoints" / "model.ckpt"
    ckpt.parent.mkdir(parents=True, exist_ok=True)
    trainer = ptl.Trainer(accelerator="cpu", logger=False, enable_progress_bar=False)
    trainer.strategy.connect(metric)
    trainer.save_checkpoint(str(ckpt))
    # the hparams carry class_identifier, which load_from_checkpoint reads to pick the class
    (out / "hparams.yaml").write_text(yaml.safe_dump(dict(metric.hparams)))
    return ckpt


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--kind", choices=["comet", "cometkiwi", *XCOMET_KINDS], required=True)
    p.add_argument("--out", type=Path, required=True, help="folder to create (hub-download layout)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--span-bias",
        type=float,
        nargs=4,
        default=list(SPAN_BIAS),
        help="xcomet: word-level head bias for OK, minor, major, critical",
    )
    p.add_argument("--vocab", type=int, default=800)
    p.add_argument("--hidden", type=int, default=32, help="encoder width (bench: bigger, slower models)")
    p.add_argument("--layers", type=int, default=2, help="encoder layers")
    p.add_argument("--text", type=Path, nargs="+", help="training text for the tokenizer (default: sample)")
    args = p.parse_args()

    import torch

    texts = args.text or sorted(SAMPLE.glob("*"))
    build_encoder(
        args.out / "encoder",
        training_text([t for t in texts if t.is_file()]),
        args.vocab,
        args.hidden,
        args.layers,
    )
    torch.manual_seed(args.seed)
    ckpt = save(build_metric(args.kind, (args.out / "encoder").resolve(), tuple(args.span_bias)), args.out)
    print(ckpt)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
