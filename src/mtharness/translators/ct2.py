"""CTranslate2: a transformers checkpoint converted once (cached on disk), then translate_batch."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mtharness.core import MtharnessError
from mtharness.translators import seq2seq as S

COMPUTE_TYPES = ("default", "auto", "int8", "int8_float32", "int8_float16", "int8_bfloat16", "int16",
                 "float16", "bfloat16", "float32")  # fmt: skip
QUANTIZATIONS = (None, *COMPUTE_TYPES[2:])


def conversion_key(ref: str, revision: str, quantization: str | None) -> str:
    """Folder name of a converted model: source checkpoint, its revision, quantization, ct2 version."""
    blob = json.dumps([ref, revision, quantization, S.versions("ctranslate2")]).encode()
    stem = "".join(c if c.isalnum() or c in "-_." else "_" for c in Path(ref).name or ref)[-48:]
    return f"{stem}-{quantization or 'asis'}-{hashlib.sha256(blob).hexdigest()[:16]}"


def converted_model(
    ref: str,
    revision: str,
    quantization: str | None,
    convert_dir: str | Path,
    trust_remote_code: bool = False,
) -> Path:
    """Convert ref once into convert_dir/<key>; concurrent converters race harmlessly (rename wins)."""
    root = Path(convert_dir).expanduser()
    target = root / conversion_key(ref, revision, quantization)
    if (target / "model.bin").exists():
        return target
    from ctranslate2.converters import TransformersConverter

    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".converting-", dir=root))
    try:
        converter = TransformersConverter(
            ref,
            revision=None if S.is_local(ref) else revision,
            trust_remote_code=trust_remote_code,
        )
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*sacremoses")
            converter.convert(str(tmp / "model"), quantization=quantization, force=True)
    except Exception as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(exc, OSError | EnvironmentError) and not S.is_local(ref):
            raise S.load_error(ref, exc) from None
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        hint = (
            " (M2M100 checkpoints hit this under transformers 5: use translator=hf for them)"
            if "vocabulary" in first
            else ""
        )
        raise MtharnessError(f"CTranslate2 cannot convert {ref!r}: {first}{hint}") from None
    try:
        os.rename(tmp / "model", target)
    except OSError:  # another process finished first: its copy is identical
        if not (target / "model.bin").exists():
            raise
    shutil.rmtree(tmp, ignore_errors=True)
    return target


class CT2Translator(S.Seq2SeqSettings):
    """Same configuration and language-code handling as ``hf``, decoded by CTranslate2.

    ``num_beams`` is passed as beam_size explicitly (CTranslate2's default is 2, transformers' 1).
    ``threads`` is intra_threads (per batch); ``inter_threads`` runs batches in parallel. With both
    null, a CPU run decodes one batch per usable core, each on one thread: on the 2-core dev machine
    that was ~1.9x the throughput of one batch on two threads (opus-sized Marian, beam 4), which
    was no faster than one thread. Outputs do not depend on either setting.
    """

    backend = "ctranslate2"

    def __init__(
        self,
        name: str = "ct2",
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
        compute_type: str = "int8",
        quantization: str | None = None,
        device: str = "auto",
        threads: int | None = None,
        inter_threads: int | None = None,
        convert_dir: str = "results/cache/ct2",
        trust_remote_code: bool = False,
    ) -> None:
        if compute_type not in COMPUTE_TYPES:
            raise MtharnessError(f"translator.compute_type={compute_type!r}: choose one of {COMPUTE_TYPES}")
        if quantization not in QUANTIZATIONS:
            raise MtharnessError(f"translator.quantization={quantization!r}: choose one of {QUANTIZATIONS}")
        super().__init__(
            name, model, models, revision, lang_style, lang_codes, num_beams, max_new_tokens,
            max_input_tokens, batch_size, max_batch_tokens, device, threads, trust_remote_code,
        )  # fmt: skip
        self.compute_type = compute_type
        self.quantization = quantization
        self.inter_threads = None if inter_threads is None else int(inter_threads)
        self.convert_dir = convert_dir
        self._threads: tuple[int, int] | None = None  # (inter, intra) once a model is loaded

    def run_info(self) -> dict[str, Any]:
        """Truncation counts and, when a model was loaded, CTranslate2's thread split."""
        info = super().run_info()
        if self._threads is not None:
            info["ct2_threads"] = {"inter_threads": self._threads[0], "intra_threads": self._threads[1]}
        return info

    def _device(self) -> str:
        if self.device != "auto":
            return self.device
        import ctranslate2

        return "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"

    def thread_split(self) -> tuple[int, int]:
        """(inter_threads, intra_threads) for CTranslate2: what is set, else one thread per batch."""
        if self.inter_threads is not None:
            return max(1, self.inter_threads), S.threads_to_use(self.threads)
        if self.threads is not None or self._device() != "cpu":
            return 1, S.threads_to_use(self.threads)
        return S.threads_to_use(None), 1

    def _load(self, ref: str) -> tuple[Any, Any, str]:
        if ref in self._loaded:
            return self._loaded[ref]
        import ctranslate2

        revision = S.resolve_revision(ref, self.revision)
        tok = S.load_tokenizer(ref, None if S.is_local(ref) else revision, self.trust_remote_code)
        path = converted_model(ref, revision, self.quantization, self.convert_dir, self.trust_remote_code)
        inter, intra = self._threads = self.thread_split()
        translator = ctranslate2.Translator(
            str(path),
            device=self._device(),
            compute_type=self.compute_type,
            inter_threads=inter,
            intra_threads=intra,
        )
        style = self._style(tok)
        self._loaded[ref] = (tok, translator, style)
        return self._loaded[ref]

    def translate(self, texts: Sequence[str], src: str, tgt: str) -> list[str]:
        if not texts:
            return []
        tok, translator, style = self._load(S.model_for(self.model, self.models, src, tgt))
        target = S.set_direction(tok, style, src, tgt, self.lang_codes)
        todo = [i for i, t in enumerate(texts) if t.strip()]  # an empty source translates to ""
        ids = self._truncation.encode(tok, [texts[i] for i in todo], f"{src}-{tgt}")
        tokens = [tok.convert_ids_to_tokens(x) for x in ids]
        outputs = [""] * len(texts)
        # Every batch is queued at once (asynchronous): CTranslate2 decodes up to inter_threads of
        # them in parallel, which a loop of blocking calls would serialise. Each batch is decoded
        # alone either way, so the outputs do not depend on inter_threads.
        batches = S.length_batches([len(x) for x in tokens], self.batch_size, self.max_batch_tokens)
        pending = [
            translator.translate_batch(
                [tokens[j] for j in batch],
                target_prefix=[[target] for _ in batch] if target else None,
                beam_size=self.num_beams,
                # transformers counts a forced language token among the new tokens; CTranslate2
                # counts the prefix too, so both stop at the same place
                max_decoding_length=self.max_new_tokens,
                max_input_length=0,
                asynchronous=True,
            )
            for batch in batches
        ]
        for batch, results in zip(batches, pending, strict=True):
            hyps = [tok.convert_tokens_to_ids(r.result().hypotheses[0]) for r in results]
            for j, text in zip(batch, S.decode(tok, hyps, target), strict=True):
                outputs[todo[j]] = text
        return outputs

    def identity(self) -> dict[str, Any]:
        """Like hf's identity: checkpoints + revisions, decoding, compute type, ct2 version."""
        if self._identity is None:
            self._identity = {
                **self._common_identity(),
                "compute_type": self.compute_type,
                "quantization": self.quantization,
                "device": self._device().split(":")[0],
                "versions": S.versions("ctranslate2"),
                **self.batch_identity(),
            }
        return self._identity
