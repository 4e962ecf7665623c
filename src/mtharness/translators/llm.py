"""translator=llm: a local causal LM through transformers, prompted to translate.

AutoModelForCausalLM + AutoTokenizer, loaded lazily (composing a config costs nothing). Each segment
becomes a prompt (configs/prompt) rendered with the tokenizer's chat template, or as one plain
string when the tokenizer has none (or ``chat_template: plain``). Prompts are sorted by length into
batches, left-padded, decoded greedily by default; only the new tokens are decoded, then cleaned
(llm_cleanup), with the raw answers kept for segments.jsonl.

Checkpoints, revisions, dtype, device, threads and truncation are the seq2seq backends' own
(hf.HFTranslator, seq2seq.Seq2SeqSettings): same keys, same identity fields.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mtharness.core import MtharnessError
from mtharness.translators import seq2seq as S
from mtharness.translators.hf import HFTranslator
from mtharness.translators.llm_base import LLMBackend
from mtharness.translators.prompts import Prompt

CHAT_TEMPLATE_MODES = ("auto", "plain")


class LLMTranslator(LLMBackend, HFTranslator):
    """A causal LM as a translation system (greedy, batched, left-padded; see the module docstring).

    Batch independence: left padding with an attention mask and position ids derived from it keeps
    each prompt's computation its own up to float rounding; on the tiny test model (float32, CPU)
    batched and one-by-one outputs were identical (docs/performance.md). Rounding can still flip a
    greedy choice in a big model near a tie, so ``batch_size`` and ``max_batch_tokens`` are part of the
    identity: outputs made with one batching are never served from the cache for another.
    """

    backend = "transformers-causal-lm"
    auto_class = "AutoModelForCausalLM"
    # each prompt is decoded on its own (left padding + mask); measured batch == one-by-one, and the
    # batching is in identity() anyway, so a cache entry never mixes two batchings
    context_free = True

    def __init__(
        self,
        name: str = "llm",
        model: str | None = None,
        models: Mapping[str, str] | None = None,
        revision: str | None = None,
        prompt: Mapping[str, Any] | Prompt | None = None,
        seed: int | None = None,
        num_beams: int = 1,
        max_new_tokens: int = 256,
        max_input_tokens: int = 1024,
        batch_size: int = 8,
        max_batch_tokens: int | None = 8192,
        dtype: str = "float32",
        device: str = "auto",
        threads: int | None = None,
        trust_remote_code: bool = False,
        chat_template: str = "auto",
        cleanup: bool = True,
        sentence_level: Any = "auto",
    ) -> None:
        if chat_template not in CHAT_TEMPLATE_MODES:
            raise MtharnessError(
                f"translator.chat_template={chat_template!r}: choose one of {CHAT_TEMPLATE_MODES}"
            )
        HFTranslator.__init__(
            self, name, model, models, revision, "none", None, num_beams, max_new_tokens,
            max_input_tokens, batch_size, max_batch_tokens, dtype, device, threads, trust_remote_code,
        )  # fmt: skip
        LLMBackend.__init__(self, prompt, seed, cleanup, sentence_level)
        self.chat_template = chat_template

    def uses_chat_template(self, tokenizer: Any) -> bool:
        return self.chat_template == "auto" and bool(getattr(tokenizer, "chat_template", None))

    def prompt_ids(self, tokenizer: Any, texts: Sequence[str], src: str, tgt: str) -> list[list[int]]:
        """Token ids of each segment's full prompt (chat template or plain), the segment cut to
        max_input_tokens first so the prompt's own end (the answer cue) is never cut off."""
        texts = self._truncation.cut_texts(tokenizer, texts, f"{src}-{tgt}")
        if self.uses_chat_template(tokenizer):
            # the template writes the model's own begin-of-text marker where it wants one
            rendered = [
                tokenizer.apply_chat_template(
                    self.prompt.messages(t, src, tgt), tokenize=False, add_generation_prompt=True
                )
                for t in texts
            ]
            return list(tokenizer(rendered, add_special_tokens=False)["input_ids"])
        return list(tokenizer([self.prompt.plain(t, src, tgt) for t in texts])["input_ids"])

    def answer(self, texts: Sequence[str], src: str, tgt: str) -> list[str]:
        """Raw answers: the text generated after each prompt, special tokens removed."""
        if not texts:
            return []
        import torch

        tok, model, _ = self._load(S.model_for(self.model, self.models, src, tgt))
        pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
        ids = self.prompt_ids(tok, texts, src, tgt)
        answers = [""] * len(texts)
        kwargs: dict[str, Any] = {
            "num_beams": self.num_beams,
            "max_new_tokens": self.max_new_tokens,
            "do_sample": False,
            "pad_token_id": pad,
        }
        with torch.inference_mode():
            for batch in S.length_batches([len(x) for x in ids], self.batch_size, self.max_batch_tokens):
                width = max(len(ids[j]) for j in batch)
                # left padding: every prompt ends where generation starts
                input_ids = torch.tensor([[pad] * (width - len(ids[j])) + ids[j] for j in batch])
                mask = torch.tensor([[0] * (width - len(ids[j])) + [1] * len(ids[j]) for j in batch])
                out = model.generate(
                    input_ids=input_ids.to(model.device), attention_mask=mask.to(model.device), **kwargs
                )
                new = tok.batch_decode(out[:, width:].tolist(), skip_special_tokens=True)
                for j, text in zip(batch, new, strict=True):
                    answers[j] = text
        return answers

    def identity(self) -> dict[str, Any]:
        """The seq2seq identity (checkpoints, revisions, decoding, dtype, device, versions) plus the
        prompt settings, chat-template use, cleanup rules and the batching (see the class docstring).
        The rendered prompt's hash joins per direction (direction_identity)."""
        if self._identity is None:
            base = HFTranslator.identity(self)
            self._identity = {
                **base,
                **self.llm_identity(),
                "chat_template": self.chat_template,
                "batching": {"batch_size": self.batch_size, "max_batch_tokens": self.max_batch_tokens},
            }
        return self._identity

    def run_info(self) -> dict[str, Any]:
        return {**HFTranslator.run_info(self), **LLMBackend.run_info(self)}

    def _load(self, ref: str) -> tuple[Any, Any, str]:
        """HFTranslator's loader; causal tokenizers pad on the left here (whatever they were saved with)."""
        tok, model, style = super()._load(ref)
        tok.padding_side = "left"
        return tok, model, style
