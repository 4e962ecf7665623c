"""transformers seq2seq checkpoints (Marian/opus-mt, NLLB-200, M2M100, mBART-50) with generate()."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from mtharness.core import MtharnessError
from mtharness.translators import seq2seq as S

DTYPES = ("auto", "float32", "float16", "bfloat16")


class HFTranslator(S.Seq2SeqSettings):
    """AutoModelForSeq2SeqLM + AutoTokenizer; loads lazily, so building it from a config is free.

    ``models`` maps a direction to its checkpoint ({en-de: ..., de-en: ...}); ``model`` is one
    multilingual checkpoint for every direction. Inputs are sorted by length into batches bounded
    by ``batch_size`` and ``max_batch_tokens`` and returned in the caller's order.
    """

    backend = "transformers"
    auto_class = "AutoModelForSeq2SeqLM"  # the causal-LM backend (llm.py) loads AutoModelForCausalLM

    def __init__(
        self,
        name: str = "hf",
        model: str | None = None,
        models: Mapping[str, str] | None = None,
        revision: str | None = None,
        lang_style: str = "auto",
        lang_codes: Mapping[str, str] | None = None,
        num_beams: int = 4,
        max_new_tokens: int = 256,
        max_input_tokens: int = 512,
        batch_size: int = 32,
        max_batch_tokens: int | None = 8192,
        dtype: str = "float32",
        device: str = "auto",
        threads: int | None = None,
        trust_remote_code: bool = False,
    ) -> None:
        if dtype not in DTYPES:
            raise MtharnessError(f"translator.dtype={dtype!r}: choose one of {DTYPES}")
        super().__init__(
            name, model, models, revision, lang_style, lang_codes, num_beams, max_new_tokens,
            max_input_tokens, batch_size, max_batch_tokens, device, threads, trust_remote_code,
        )  # fmt: skip
        self.dtype = dtype

    def _device(self) -> str:
        import torch

        if self.device != "auto":
            return self.device
        return "cuda" if torch.cuda.is_available() else "cpu"

    def _load(self, ref: str) -> tuple[Any, Any, str]:
        """(tokenizer, model, language style) for one checkpoint, loaded once."""
        if ref in self._loaded:
            return self._loaded[ref]
        # OpenMP reads this once, at torch import: passive waiting keeps a busy second core from
        # turning multi-threaded generation into a spin-lock contest
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        import torch
        import transformers

        torch.set_num_threads(S.threads_to_use(self.threads))
        revision = None if S.is_local(ref) else S.resolve_revision(ref, self.revision)
        tok = S.load_tokenizer(ref, revision, self.trust_remote_code)
        dtype = "auto" if self.dtype == "auto" else getattr(torch, self.dtype)
        try:
            model = getattr(transformers, self.auto_class).from_pretrained(
                ref, revision=revision, dtype=dtype, trust_remote_code=self.trust_remote_code
            )
        except Exception as exc:
            raise S.load_error(ref, exc) from None
        model.to(self._device()).eval()
        style = self._style(tok)
        self._loaded[ref] = (tok, model, style)
        return self._loaded[ref]

    def translate(self, texts: Sequence[str], src: str, tgt: str) -> list[str]:
        if not texts:
            return []
        tok, _, style = self._load(S.model_for(self.model, self.models, src, tgt))
        target = S.set_direction(tok, style, src, tgt, self.lang_codes)
        todo = [i for i, t in enumerate(texts) if t.strip()]  # an empty source translates to ""
        outputs = [""] * len(texts)
        decoded = S.decode(tok, self.generate_ids([texts[i] for i in todo], src, tgt), target)
        for i, text in zip(todo, decoded, strict=True):
            outputs[i] = text
        return outputs

    def generate_ids(self, texts: Sequence[str], src: str, tgt: str) -> list[list[int]]:
        """Output token ids per input, in input order, as generate() made them (language token included)."""
        import torch

        tok, model, style = self._load(S.model_for(self.model, self.models, src, tgt))
        target = S.set_direction(tok, style, src, tgt, self.lang_codes)
        kwargs: dict[str, Any] = {
            "num_beams": self.num_beams,
            "max_new_tokens": self.max_new_tokens,
            "do_sample": False,
        }
        if target is not None:
            kwargs["forced_bos_token_id"] = tok.convert_tokens_to_ids(target)
        ids = self._truncation.encode(tok, list(texts), f"{src}-{tgt}")
        out: list[list[int]] = [[] for _ in ids]
        with torch.inference_mode():
            for batch in S.length_batches([len(x) for x in ids], self.batch_size, self.max_batch_tokens):
                enc = tok.pad({"input_ids": [ids[j] for j in batch]}, return_tensors="pt").to(model.device)
                for j, seq in zip(batch, model.generate(**enc, **kwargs).tolist(), strict=True):
                    out[j] = seq
        return out

    def identity(self) -> dict[str, Any]:
        """Checkpoints with their revisions, decoding settings, dtype, device and library versions.

        Threads are left out (they change speed only). Batch size and token budget are in unless
        batch_size is 1: padded batches are not promised to decode like one segment alone
        (``batch_independent``), so caches filled with different batching never mix.
        """
        if self._identity is None:
            self._identity = {
                **self._common_identity(do_sample=False),
                "dtype": self.dtype,
                "device": self._device_kind(),
                "trust_remote_code": self.trust_remote_code,
                "versions": S.versions("torch"),
                **self.batch_identity(),
            }
        return self._identity

    def _device_kind(self) -> str:
        """cpu or cuda, without importing torch (a fully cached rerun never needs it)."""
        if self.device != "auto" or "torch" in sys.modules:
            return self._device().split(":")[0]
        if "+cpu" in S.versions("torch")["torch"] or not os.path.exists("/proc/driver/nvidia/version"):
            return "cpu"
        return "cuda"
