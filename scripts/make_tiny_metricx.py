"""Build a tiny random-init MetricX-24 checkpoint and tokenizer, offline, for tests and benchmarks.

    python scripts/make_tiny_metricx.py OUT_DIR [--seed 0]

OUT_DIR/model holds an mT5 encoder-decoder (``MT5ForConditionalGeneration`` layout, which is the
layout of MetricX-24's ``MT5ForRegression``: shared, encoder, decoder, lm_head) with a vocabulary of
250,112 entries, so that the score row 250089 exists; OUT_DIR/tokenizer holds a small sentencepiece
unigram model trained on the bundled sample texts, saved as a ``T5Tokenizer`` (pad 0, eos 1, unk 2,
as mT5's). Random weights put the score logit below 0, where every segment clamps to 0, so the script
sets the score row of ``lm_head`` and the embedding of the decoder start token (0) such that scores
spread inside (0, 25). About 32 MB, a few seconds.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SAMPLE_DIR = REPO / "src" / "mtharness" / "data" / "sample"
VOCAB_SIZE = 250112  # mT5's
SCORE_INDEX = 250089  # MetricX-24 reads the first decoder step's logit here (<extra_id_10> in mT5)


def train_tokenizer(out: Path, vocab_size: int = 400) -> None:
    """A sentencepiece unigram model on our own sample texts, saved as a T5Tokenizer folder."""
    import sentencepiece as spm
    from transformers import T5Tokenizer

    lines = []
    for path in sorted(SAMPLE_DIR.glob("sample.*")):
        lines.extend(line for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus.txt"
        corpus.write_text("\n".join(lines) + "\n", encoding="utf-8")
        prefix = Path(tmp) / "spiece"
        spm.SentencePieceTrainer.train(
            input=str(corpus),
            model_prefix=str(prefix),
            vocab_size=vocab_size,
            model_type="unigram",
            pad_id=0,
            eos_id=1,
            unk_id=2,
            bos_id=-1,
            hard_vocab_limit=False,
            character_coverage=1.0,
            minloglevel=2,
        )
        proc = spm.SentencePieceProcessor(model_file=str(prefix) + ".model")
        vocab = [(proc.id_to_piece(i), proc.get_score(i)) for i in range(proc.get_piece_size())]
        tok = T5Tokenizer(vocab=vocab, extra_ids=0)
        out.mkdir(parents=True, exist_ok=True)
        tok.save_pretrained(str(out))
        (out / "spiece.model").write_bytes((Path(str(prefix) + ".model")).read_bytes())
        # tokenizer.json as tokenizers 0.2x writes it is unreadable for the older tokenizers that the
        # reference implementation pins; without it both sides build the same tokenizer from spiece.model
        (out / "tokenizer.json").unlink()


def build_model(out: Path, tokenizer_dir: Path, seed: int) -> None:
    import json

    import torch
    from transformers import AutoTokenizer, MT5Config, MT5ForConditionalGeneration

    torch.manual_seed(seed)
    config = MT5Config(
        vocab_size=VOCAB_SIZE,
        d_model=16,
        d_kv=8,
        d_ff=32,
        num_layers=2,
        num_decoder_layers=1,
        num_heads=2,
        decoder_start_token_id=0,
        pad_token_id=0,
        eos_token_id=1,
    )
    model = MT5ForConditionalGeneration(config).eval()
    state = dict(model.state_dict())  # tied entries share one storage: saved once
    # MetricX's lm_head is its own matrix (mT5 does not tie it to the embeddings); transformers 5 builds
    # MT5 tied, so the untied head is written into the state dict by hand
    gen = torch.Generator().manual_seed(seed + 1)
    head = torch.randn(VOCAB_SIZE, 16, generator=gen)
    # calibrate the score row on our sample: the decoder's first hidden state varies little between
    # inputs, so the row is its mean direction scaled to land near 12 plus a random part for spread
    tok = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    lines = [x for x in (SAMPLE_DIR / "sample.en").read_text(encoding="utf-8").splitlines() if x.strip()]
    hidden = []
    with torch.no_grad():
        for line in lines[:16]:
            ids = torch.tensor([tok(f"source: {line} candidate: {line[::-1]}")["input_ids"][:-1]])
            dec = model(
                input_ids=ids,
                decoder_input_ids=torch.zeros((1, 1), dtype=torch.long),
                output_hidden_states=True,
            ).decoder_hidden_states[-1]
            hidden.append(dec[0, 0])
    stack = torch.stack(hidden)
    mean = stack.mean(0)
    spread = stack - mean
    direction = spread.std(0) / (spread.std(0).norm() + 1e-9)
    head[SCORE_INDEX] = mean * (12.0 / float(mean @ mean)) + direction * (
        8.0 / (float(spread.std(0).norm()) + 1e-9)
    )
    state["lm_head.weight"] = head
    out.mkdir(parents=True, exist_ok=True)
    torch.save(state, out / "pytorch_model.bin")
    cfg = config.to_dict()
    cfg["tie_word_embeddings"] = False
    cfg["architectures"] = ["MT5ForConditionalGeneration"]
    (out / "config.json").write_text(json.dumps(cfg, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    train_tokenizer(args.out_dir / "tokenizer")
    build_model(args.out_dir / "model", args.out_dir / "tokenizer", args.seed)
    print(f"tiny MetricX-24 checkpoint: {args.out_dir / 'model'} (tokenizer {args.out_dir / 'tokenizer'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
