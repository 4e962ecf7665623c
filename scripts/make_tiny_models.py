"""Build tiny transformers translation checkpoints offline, for tests and demos.

    python scripts/make_tiny_models.py marian-copy tests/fixtures/tiny_marian_copy --steps 600
    python scripts/make_tiny_models.py nllb /tmp/tiny_nllb
    python scripts/make_tiny_models.py m2m100 /tmp/tiny_m2m100
    python scripts/make_tiny_models.py llm-copy tests/fixtures/tiny_llm --steps 1500

- ``marian-copy``: a Marian model with a locally trained sentencepiece vocabulary, trained briefly to
  copy English (x -> x). Its output is a usefully imperfect "translation", so round-trip scores are
  real numbers, not random-weight noise. The committed copy under tests/fixtures/ was built with the
  command above (fixed seed, one torch thread); rebuilding with the same Python, torch and
  sentencepiece versions gives the same weights.
- ``nllb``: an NLLB-style multilingual model (NllbTokenizer over a locally trained BPE, language
  codes such as eng_Latn as special tokens, M2M100 architecture), random weights. Seconds to build.
- ``m2m100``: an M2M100-style model (M2M100Tokenizer over a sentencepiece BPE, __en__ language
  tokens), random weights. Seconds to build.
- ``llm-copy``: a tiny Llama-style causal LM (byte-level BPE trained here, a chat template), trained
  briefly to answer a translation prompt by copying the segment (see tiny_llm.py beside this script).
  Servable by `transformers serve <folder> --device cpu`.

Training text: docstrings of the Python standard library on this machine (parsed with ast, never
imported) and the project's own article.en. The project's sample.en is held out for evaluation.
"""

from __future__ import annotations

import argparse
import ast
import io
import json
import random
import re
import sys
import sysconfig
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SAMPLE_DIR = REPO / "src" / "mtharness" / "data" / "sample"
NLLB_LANGS = ("eng_Latn", "spa_Latn", "deu_Latn", "fra_Latn", "arb_Arab")
M2M_LANGS = ("en", "es", "de", "fr", "ar")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")


def _docstrings(path: Path) -> list[str]:
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (SyntaxError, UnicodeDecodeError, ValueError):
        return []
    nodes = [tree, *(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.ClassDef))]
    return [d for n in nodes if (d := ast.get_docstring(n))]


def training_sentences(max_sentences: int = 12000, seed: int = 1) -> list[str]:
    """English sentences from stdlib docstrings and our article.en; deterministic for one Python."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    texts: list[str] = []
    for path in sorted(stdlib.glob("*.py")) + sorted(stdlib.glob("[a-z]*/*.py")):
        if "test" in path.parts[-2] or path.parent.name in ("idlelib", "lib2to3", "site-packages"):
            continue
        for doc in _docstrings(path):
            texts.extend(" ".join(p.split()) for p in doc.split("\n\n"))
    texts.extend(line for line in (SAMPLE_DIR / "article.en").read_text().splitlines() if line)
    seen: set[str] = set()
    sentences = []
    for text in texts:
        for sent in _SENTENCE_END.split(text):
            sent = sent.strip()
            if 20 <= len(sent) <= 110 and sent.isascii() and sent[0].isalpha() and sent not in seen:
                seen.add(sent)
                sentences.append(sent)
    sentences.sort()
    random.Random(seed).shuffle(sentences)
    return sentences[:max_sentences]


def _train_sentencepiece(sentences: Sequence[str], prefix: Path, vocab_size: int, model_type: str) -> None:
    import sentencepiece as spm

    # an iterator and a writer, not files: their (temporary) paths would be stored in the model
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(sentences),
        model_writer=model,
        vocab_size=vocab_size,
        model_type=model_type,
        character_coverage=1.0,
        num_threads=1,
        shuffle_input_sentence=False,
        bos_id=-1,
        eos_id=-1,
        pad_id=-1,
        unk_id=0,
        minloglevel=2,
        hard_vocab_limit=False,
    )
    prefix.with_suffix(".model").write_bytes(model.getvalue())


def _pieces(sentences: Sequence[str], prefix: Path, vocab_size: int, model_type: str) -> list[str]:
    """Train a sentencepiece model at ``prefix``.model and return its pieces in id order."""
    import sentencepiece as spm

    _train_sentencepiece(sentences, prefix, vocab_size, model_type)
    sp = spm.SentencePieceProcessor(model_file=str(prefix.with_suffix(".model")))
    return [sp.id_to_piece(i) for i in range(sp.get_piece_size())]


def build_marian(out: Path, sentences: Sequence[str], seed: int = 1, vocab_size: int = 2000) -> None:
    """Marian tokenizer (shared source/target sentencepiece) and a random-weight 2+2-layer model."""
    import torch
    from transformers import GenerationConfig, MarianConfig, MarianMTModel, MarianTokenizer

    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        pieces = _pieces(sentences, Path(tmp) / "sp", vocab_size, "unigram")
        # Marian: </s> is id 0, <unk> follows, <pad> is the last id
        vocab = ["</s>", "<unk>", *(p for p in pieces if p not in ("<unk>", "</s>")), "<pad>"]
        (Path(tmp) / "vocab.json").write_text(json.dumps({p: i for i, p in enumerate(vocab)}))
        tok = MarianTokenizer(
            str(Path(tmp) / "sp.model"), str(Path(tmp) / "sp.model"), str(Path(tmp) / "vocab.json")
        )
        tok.save_pretrained(out)
    pad = len(vocab) - 1
    config = MarianConfig(
        vocab_size=len(vocab),
        decoder_vocab_size=len(vocab),
        d_model=128,
        encoder_layers=2,
        decoder_layers=2,
        encoder_attention_heads=4,
        decoder_attention_heads=4,
        encoder_ffn_dim=256,
        decoder_ffn_dim=256,
        max_position_embeddings=256,
        pad_token_id=pad,
        eos_token_id=0,
        decoder_start_token_id=pad,
        forced_eos_token_id=0,
        share_encoder_decoder_embeddings=True,
        scale_embedding=True,
    )
    torch.manual_seed(seed)
    model = MarianMTModel(config)
    with torch.no_grad():  # Marian starts decoding from a zero <pad> embedding (CTranslate2 relies on it)
        model.get_input_embeddings().weight[pad].zero_()
    model.generation_config = GenerationConfig(
        pad_token_id=pad,
        eos_token_id=0,
        decoder_start_token_id=pad,
        forced_eos_token_id=0,
        bad_words_ids=[[pad]],  # as in opus-mt: <pad> is never an output (CTranslate2 drops it)
        num_beams=1,
    )
    model.save_pretrained(out)


def train_copy(
    folder: Path, sentences: Sequence[str], steps: int, seed: int = 1, batch_size: int = 32
) -> float:
    """Train a seq2seq checkpoint in place to copy its input; returns seconds spent."""
    import torch
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    torch.set_num_threads(1)
    torch.manual_seed(seed)
    tok = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForSeq2SeqLM.from_pretrained(folder)
    model.train()
    pad = tok.pad_token_id if model.config.model_type == "marian" else None
    embeddings = model.get_input_embeddings()
    optim = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.OneCycleLR(optim, max_lr=2e-3, total_steps=steps, pct_start=0.1)
    rng = random.Random(seed)
    start = time.perf_counter()
    for step in range(steps):
        batch = rng.sample(list(sentences), batch_size)
        enc = tok(batch, text_target=batch, return_tensors="pt", padding=True, truncation=True, max_length=48)
        enc["labels"][enc["labels"] == tok.pad_token_id] = -100
        loss = model(**enc).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optim.step()
        sched.step()
        optim.zero_grad()
        if pad is not None:  # the tied output layer would otherwise train the <pad> row
            with torch.no_grad():
                embeddings.weight[pad].zero_()
        if step % 200 == 0 or step == steps - 1:
            print(f"step {step:5d}  loss {loss.item():.3f}  {time.perf_counter() - start:6.1f} s", flush=True)
    model.eval()
    model.save_pretrained(folder)
    return time.perf_counter() - start


def _bpe_tokenizer(sentences: Sequence[str], specials: Sequence[str], vocab_size: int):  # type: ignore[no-untyped-def]
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=list(specials), show_progress=False)
    tok.train_from_iterator(sentences, trainer)
    return tok


def build_nllb(out: Path, sentences: Sequence[str], seed: int = 1, vocab_size: int = 1500) -> None:
    """NLLB-style: NllbTokenizer over a local BPE, language codes as special tokens, M2M100 weights."""
    from transformers import NllbTokenizer

    out.mkdir(parents=True, exist_ok=True)
    specials = ["<s>", "<pad>", "</s>", "<unk>"]
    bpe = json.loads(_bpe_tokenizer(sentences, specials, vocab_size).to_str())["model"]
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in bpe["merges"]]
    tok = NllbTokenizer(
        vocab=bpe["vocab"],
        merges=merges,
        src_lang="eng_Latn",
        tgt_lang="spa_Latn",
        extra_special_tokens=list(NLLB_LANGS),
    )
    tok.save_pretrained(out)
    _save_m2m100(out, len(tok), tok.pad_token_id, tok.eos_token_id, seed)


def build_m2m100(out: Path, sentences: Sequence[str], seed: int = 1, vocab_size: int = 1500) -> None:
    """M2M100-style: M2M100Tokenizer (sentencepiece BPE, __xx__ language tokens), M2M100 weights."""
    from transformers import M2M100Tokenizer

    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        pieces = _pieces(sentences, Path(tmp) / "sp", vocab_size, "bpe")
        vocab = ["<s>", "<pad>", "</s>", "<unk>", *(p for p in pieces if p != "<unk>")]
        (Path(tmp) / "vocab.json").write_text(json.dumps({p: i for i, p in enumerate(vocab)}))
        tok = M2M100Tokenizer(
            str(Path(tmp) / "vocab.json"),
            str(Path(tmp) / "sp.model"),
            src_lang="en",
            tgt_lang="es",
            language_codes="m2m100",
            num_madeup_words=0,
        )
        tok.save_pretrained(out)
    # the __xx__ language ids sit after the vocabulary and are not counted by len(tok)
    n_ids = max(len(tok), max(tok.lang_token_to_id.values()) + 1)
    _save_m2m100(out, n_ids, tok.pad_token_id, tok.eos_token_id, seed)


def _save_m2m100(out: Path, vocab: int, pad: int, eos: int, seed: int) -> None:
    import torch
    from transformers import GenerationConfig, M2M100Config, M2M100ForConditionalGeneration

    config = M2M100Config(
        vocab_size=vocab,
        d_model=64,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=128,
        decoder_ffn_dim=128,
        max_position_embeddings=256,
        pad_token_id=pad,
        eos_token_id=eos,
        decoder_start_token_id=eos,
        bos_token_id=0,
    )
    torch.manual_seed(seed)
    model = M2M100ForConditionalGeneration(config)
    model.generation_config = GenerationConfig(
        pad_token_id=pad, eos_token_id=eos, decoder_start_token_id=eos, bos_token_id=0, num_beams=1
    )
    model.save_pretrained(out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("kind", choices=["marian-copy", "marian", "nllb", "m2m100", "llm-copy"])
    parser.add_argument("out", type=Path)
    parser.add_argument("--steps", type=int, default=600, help="training steps for marian-copy and llm-copy")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--sentences", type=int, default=12000)
    args = parser.parse_args(argv)
    sentences = training_sentences(args.sentences, args.seed)
    print(f"{len(sentences)} training sentences", file=sys.stderr)
    if args.kind in ("marian", "marian-copy"):
        build_marian(args.out, sentences, args.seed)
        if args.kind == "marian-copy":
            seconds = train_copy(args.out, sentences, args.steps, args.seed)
            print(f"trained {args.steps} steps in {seconds:.0f} s", file=sys.stderr)
    elif args.kind == "llm-copy":
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import tiny_llm

        seconds = tiny_llm.build_and_train(args.out, sentences, args.steps, args.seed)
        print(f"trained {args.steps} steps in {seconds:.0f} s", file=sys.stderr)
    elif args.kind == "nllb":
        build_nllb(args.out, sentences, args.seed)
    else:
        build_m2m100(args.out, sentences, args.seed)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
