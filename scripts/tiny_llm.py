"""A tiny Llama-style chat model that "translates" by copying, for the LLM tests and demos.

Built by ``python scripts/make_tiny_models.py llm-copy <folder> --steps N``:

- a byte-level BPE tokenizer trained here on the training sentences (any text encodes, accents too),
  with chat special tokens <|system|> <|user|> <|assistant|> <|end|> and a chat template;
- a LlamaConfig with 2 layers of width 96 and tied embeddings (~1.5 MB of float32 weights);
- trained on one CPU thread to answer the project's own prompts (configs/prompt: zero-shot and
  few-shot chat, and the plain completion form) with a copy of the segment, then <|end|>. Loss is on
  the answer only. The answer is a usefully imperfect copy (chrF ~22 against the source on
  sample.en after 2000 steps; 28 minutes wall on a shared 2-core machine): round-trip scores are
  real numbers, not random-weight noise.

Deterministic for one torch/tokenizers version: fixed seeds, one thread, sorted inputs.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mtharness.translators.prompts import DEFAULT_ZERO_SHOT, prompt_from_config

SPECIALS = ["<pad>", "<unk>", "<|system|>", "<|user|>", "<|assistant|>", "<|end|>"]
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|' + message['role'] + '|>\\n' + message['content'] + '<|end|>\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}"
)
LANGS = ("en", "es", "de", "fr")
DEV = Path(__file__).resolve().parents[1] / "src" / "mtharness" / "data" / "sample"


def build_tokenizer(out: Path, sentences: Sequence[str], vocab_size: int = 2000) -> Any:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE(unk_token="<unk>"))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIALS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    # the dev sentences teach the merges for accented words the few-shot turns show
    dev = [line for lang in LANGS for line in (DEV / f"dev.{lang}").read_text().splitlines()]
    bpe.train_from_iterator([*sentences, *dev], trainer)
    tok = PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        pad_token="<pad>",
        unk_token="<unk>",
        eos_token="<|end|>",
        additional_special_tokens=SPECIALS[2:5],
        padding_side="left",
    )
    tok.chat_template = CHAT_TEMPLATE
    tok.save_pretrained(out)
    return tok


def _prompts(seed: int) -> list[Any]:
    zero = prompt_from_config(DEFAULT_ZERO_SHOT, seed)
    few = [
        prompt_from_config(
            {**DEFAULT_ZERO_SHOT, "name": "few_shot", "k": k, "dev_src": str(DEV / "dev.{src}"),
             "dev_tgt": str(DEV / "dev.{tgt}")},
            seed + k,
        )
        for k in (1,)
    ]  # fmt: skip
    return [zero, *few]


def training_example(
    tok: Any, sentence: str, rng: random.Random, prompts: Sequence[Any]
) -> tuple[list[int], int]:
    """(token ids, length of the prompt part) for one sentence in a random prompt form."""
    src, tgt = rng.sample(LANGS, 2)
    roll = rng.random()
    # mostly zero-shot (short sequences train fastest on one thread), some few-shot and plain
    prompt = prompts[0] if roll < 0.8 or roll >= 0.9 else prompts[1]
    if roll < 0.9:
        text = tok.apply_chat_template(
            prompt.messages(sentence, src, tgt), tokenize=False, add_generation_prompt=True
        )
        answer = sentence
    else:  # the plain form, as a completion endpoint sends it
        text, answer = prompt.plain(sentence, src, tgt), " " + sentence
    ids = tok(text, add_special_tokens=False)["input_ids"]
    answer_ids = tok(answer, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
    return ids + answer_ids, len(ids)


def _answer_loss(model: Any, input_ids: Any, mask: Any, labels: Any) -> Any:
    """Next-token loss on the answer tokens only; the output layer runs only where it counts (the
    prompt is ~3/4 of each sequence, and the vocabulary projection is most of a tiny model's work)."""
    import torch

    hidden = model.model(input_ids=input_ids, attention_mask=mask).last_hidden_state[:, :-1]
    targets = labels[:, 1:]
    keep = targets != -100
    logits = model.lm_head(hidden[keep])
    return torch.nn.functional.cross_entropy(logits, targets[keep])


def build_and_train(
    out: Path, sentences: Sequence[str], steps: int, seed: int = 1, batch_size: int = 16
) -> float:
    """Tokenizer, model, training; saves everything under ``out``. Returns seconds spent training."""
    import torch
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    tok = build_tokenizer(out, sentences)
    config = LlamaConfig(
        vocab_size=len(tok),
        hidden_size=96,
        intermediate_size=192,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=4,
        max_position_embeddings=1024,
        tie_word_embeddings=True,
        pad_token_id=tok.pad_token_id,
        eos_token_id=tok.eos_token_id,
        bos_token_id=None,
    )
    model = LlamaForCausalLM(config)
    rng = random.Random(seed)
    prompts = _prompts(seed)
    pool = [s for s in sentences if len(s) <= 70]
    optim = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.OneCycleLR(optim, max_lr=3e-3, total_steps=steps, pct_start=0.05)
    model.train()
    start = time.perf_counter()
    for step in range(steps):
        batch = [training_example(tok, s, rng, prompts) for s in rng.sample(pool, batch_size)]
        width = max(len(ids) for ids, _ in batch)
        input_ids = torch.full((batch_size, width), tok.pad_token_id)
        labels = torch.full((batch_size, width), -100)
        mask = torch.zeros((batch_size, width), dtype=torch.long)
        for row, (ids, n_prompt) in enumerate(batch):  # right padding for training
            input_ids[row, : len(ids)] = torch.tensor(ids)
            labels[row, n_prompt : len(ids)] = torch.tensor(ids[n_prompt:])
            mask[row, : len(ids)] = 1
        loss = _answer_loss(model, input_ids, mask, labels)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optim.step()
        sched.step()
        optim.zero_grad()
        if step % 100 == 0 or step == steps - 1:
            print(f"step {step:5d}  loss {loss.item():.3f}  {time.perf_counter() - start:6.1f} s", flush=True)
    model.eval()
    model.generation_config = GenerationConfig(
        eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id, do_sample=False
    )
    model.save_pretrained(out)
    (out / "README.md").write_text(
        "Tiny Llama-style copy model built by scripts/make_tiny_models.py llm-copy "
        f"(--steps {steps} --seed {seed}); for mtharness tests only.\n"
    )
    json.loads((out / "config.json").read_text())  # fail here, not in a test, if the save went wrong
    return time.perf_counter() - start
