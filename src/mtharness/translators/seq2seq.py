"""What the transformers and CTranslate2 backends share: which checkpoint serves a direction, model
identity (revision or folder hash), tokenizer loading, language codes and length-sorted batching.

No torch import here: tokenizers and huggingface_hub are enough, so the ct2 backend stays torch-free.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

from mtharness.core import MtharnessError
from mtharness.host import usable_cores
from mtharness.translators.base import TranslatorBase

# ISO 639-1 -> the codes multilingual checkpoints use (facts from the model cards' language lists)
NLLB_CODES = {
    "ar": "arb_Arab", "ca": "cat_Latn", "cs": "ces_Latn", "de": "deu_Latn", "en": "eng_Latn",
    "es": "spa_Latn", "fr": "fra_Latn", "he": "heb_Hebr", "hi": "hin_Deva", "it": "ita_Latn",
    "ja": "jpn_Jpan", "ko": "kor_Hang", "nl": "nld_Latn", "pl": "pol_Latn", "pt": "por_Latn",
    "ru": "rus_Cyrl", "tr": "tur_Latn", "uk": "ukr_Cyrl", "zh": "zho_Hans",
}  # fmt: skip
MBART50_CODES = {
    "ar": "ar_AR", "cs": "cs_CZ", "de": "de_DE", "en": "en_XX", "es": "es_XX", "fr": "fr_XX",
    "he": "he_IL", "hi": "hi_IN", "it": "it_IT", "ja": "ja_XX", "ko": "ko_KR", "nl": "nl_XX",
    "pl": "pl_PL", "pt": "pt_XX", "ru": "ru_RU", "tr": "tr_TR", "uk": "uk_UA", "zh": "zh_CN",
}  # fmt: skip
LANG_STYLES = ("auto", "none", "nllb", "m2m100", "mbart50")
REPO_PREFIX = "repo:"  # a checkpoint path relative to the mtharness checkout (test fixtures), not the cwd
_SMALL_FILE = 8 << 20  # hashed in full; bigger files (weights) by size and sampled blocks


def expand_ref(ref: str | None) -> str | None:
    """``repo:tests/fixtures/x`` -> that folder in the mtharness checkout this code runs from, so a
    config naming a bundled fixture works from any working directory; other refs are unchanged."""
    if ref is None or not str(ref).startswith(REPO_PREFIX):
        return ref
    return str(Path(__file__).resolve().parents[3] / str(ref)[len(REPO_PREFIX) :])


@contextmanager
def loading(ref: str, what: str) -> Iterator[None]:
    """Log that a checkpoint is being loaded (a big one takes a while, and nothing else moves
    meanwhile), then how long it took. Only real loads come here: cached reruns never load."""
    log = logging.getLogger("mtharness")
    log.info("loading model %s (%s)", ref, what)
    start = time.perf_counter()
    yield
    log.info("loaded model %s in %.1f s", ref, time.perf_counter() - start)


def model_for(
    model: str | None, models: Mapping[str, str] | None, src: str, tgt: str, key: str = "translator"
) -> str:
    """The checkpoint (hub id or local folder) that translates src -> tgt."""
    if models:
        pair = f"{src}-{tgt}"
        if pair in models:
            return str(models[pair])
        if model is None:
            raise MtharnessError(
                f"{key}.models has no checkpoint for {pair} (has {sorted(models)}); "
                f"add one: {key}.models.{pair}=<hub id or local folder>"
            )
    if model is None:
        raise MtharnessError(
            f"{key}: set {key}.model (one multilingual checkpoint) or {key}.models "
            "(a mapping such as {en-de: Helsinki-NLP/opus-mt-en-de, de-en: Helsinki-NLP/opus-mt-de-en})"
        )
    return str(model)


def all_models(model: str | None, models: Mapping[str, str] | None) -> dict[str, str]:
    """Every configured checkpoint by label ('*' for the multilingual one), for identity()."""
    out = {str(k): str(v) for k, v in sorted((models or {}).items())}
    if model is not None:
        out["*"] = str(model)
    return out


def looks_like_path(ref: str) -> bool:
    """A local path, not a hub id (org/name): absolute, ./ ../ ~, or more than one slash."""
    return ref.startswith(("/", "./", "../", "~", ".\\")) or ref.count("/") > 1 or "\\" in ref


def is_local(ref: str) -> bool:
    return Path(ref).expanduser().is_dir()


@cache
def folder_fingerprint(folder: str) -> str:
    """Content hash of a local checkpoint folder: small files in full; large ones by size, head,
    tail and 16 evenly spread 64 KiB blocks (a retrained model changes them; hashing GBs would cost
    seconds on every cached rerun)."""
    h = hashlib.sha256()
    root = Path(folder).expanduser()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        size = path.stat().st_size
        h.update(f"{path.relative_to(root).as_posix()}\0{size}\0".encode())
        with path.open("rb") as f:
            if size <= _SMALL_FILE:
                h.update(f.read())
                continue
            for i in range(18):
                f.seek(min(size - (1 << 16), (size - (1 << 16)) * i // 17))
                h.update(f.read(1 << 16))
    return "sha256:" + h.hexdigest()[:32]


@cache
def resolve_revision(ref: str, revision: str | None = None) -> str:
    """What pins a checkpoint: a local folder's content hash, or the hub commit (from the local hub
    cache when offline). Fetches only config.json, never weights."""
    if is_local(ref):
        return folder_fingerprint(str(Path(ref).expanduser().resolve()))
    try:
        from huggingface_hub import hf_hub_download

        path = Path(hf_hub_download(ref, "config.json", revision=revision))
    except Exception as exc:
        raise load_error(ref, exc) from None
    # the hub cache layout is models--org--name/snapshots/<commit>/config.json
    return path.parent.name if path.parent.parent.name == "snapshots" else revision or "unknown"


def load_error(ref: str, exc: BaseException) -> MtharnessError:
    if looks_like_path(ref) and not Path(ref).expanduser().exists():  # not a hub id: say what is missing
        return MtharnessError(
            f"cannot load model {ref!r}: no such folder (a local checkpoint path; relative paths are from "
            f"{Path.cwd()}); check the path, or give a hub id like org/name"
        )
    reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0].split(". ")[0][:200].rstrip(".")
    offline = " (HF_HUB_OFFLINE=1 is set)" if os.environ.get("HF_HUB_OFFLINE") == "1" else ""
    return MtharnessError(
        f"cannot load model {ref!r}{offline}: {reason}. Download it once online, or point the config at "
        "a local folder written by save_pretrained: translator.model=/path/to/folder "
        "(or translator.models.<src>-<tgt>=/path/to/folder)"
    )


def load_tokenizer(ref: str, revision: str | None, trust_remote_code: bool = False) -> Any:
    from transformers import AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    try:
        with warnings.catch_warnings():
            # MarianTokenizer asks for sacremoses; whether it is installed is recorded in identity()
            warnings.filterwarnings("ignore", message=".*sacremoses")
            return AutoTokenizer.from_pretrained(
                ref, revision=None if is_local(ref) else revision, trust_remote_code=trust_remote_code
            )
    except Exception as exc:
        raise load_error(ref, exc) from None


def detect_style(tokenizer: Any) -> str:
    """Which language-code convention a tokenizer follows, from its class."""
    cls = type(tokenizer).__name__
    if cls.startswith("Nllb"):
        return "nllb"
    if cls.startswith("M2M100"):
        return "m2m100"
    if cls.startswith("MBart50") or (cls.startswith("MBart") and hasattr(tokenizer, "lang_code_to_id")):
        return "mbart50"
    return "none"


def lang_code(style: str, lang: str, overrides: Mapping[str, str] | None = None) -> str:
    """ISO code -> the model's code (en -> eng_Latn for NLLB, en_XX for mBART-50, en for M2M100)."""
    if overrides and lang in overrides:
        return str(overrides[lang])
    if style == "nllb":
        return NLLB_CODES.get(lang, lang)
    if style == "mbart50":
        return MBART50_CODES.get(lang, lang)
    return lang


def set_direction(
    tokenizer: Any, style: str, src: str, tgt: str, overrides: Mapping[str, str] | None = None
) -> str | None:
    """Point the tokenizer at the source language; return the token that must start the output
    (forced BOS in transformers, target prefix in CTranslate2), or None for bilingual models."""
    if style == "none":
        return None
    src_code, tgt_code = lang_code(style, src, overrides), lang_code(style, tgt, overrides)
    target = f"__{tgt_code}__" if style == "m2m100" else tgt_code
    source = f"__{src_code}__" if style == "m2m100" else src_code
    for lang, token in ((src, source), (tgt, target)):
        if tokenizer.convert_tokens_to_ids(token) in (None, tokenizer.unk_token_id):
            raise MtharnessError(
                f"language {lang!r} -> {token!r} is not a language code of this {style} tokenizer; "
                f"set translator.lang_codes.{lang}=<the model's code>"
            )
    tokenizer.src_lang = src_code
    tokenizer.tgt_lang = tgt_code
    return target


def decode(tokenizer: Any, sequences: Sequence[Sequence[int]], target: str | None) -> list[str]:
    """Token ids -> text without special tokens or the forced language token (some tokenizers, such
    as M2M100's under transformers 5, do not count their language tokens as special)."""
    drop = {tokenizer.convert_tokens_to_ids(target)} if target else set()
    cleaned = [[int(i) for i in seq if int(i) not in drop] for seq in sequences]
    return [t.strip() for t in tokenizer.batch_decode(cleaned, skip_special_tokens=True)]


def length_batches(lengths: Sequence[int], batch_size: int, max_tokens: int | None = None) -> list[list[int]]:
    """Indices grouped into batches of similar length, longest first (an out-of-memory shows at once).

    A batch holds at most batch_size items and, when max_tokens is set, at most max_tokens padded
    source tokens (longest item x items); a single item over the budget gets a batch of its own.
    """
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    batches: list[list[int]] = []
    current: list[int] = []
    width = 0
    for i in order:
        grown = max(width, lengths[i])
        full = len(current) >= max(1, batch_size)
        over = max_tokens is not None and grown * (len(current) + 1) > max_tokens
        if current and (full or over):
            batches.append(current)
            current, grown = [], lengths[i]
        current.append(i)
        width = grown
    if current:
        batches.append(current)
    return batches


def threads_to_use(threads: int | None) -> int:
    """An explicit thread count; null: the job's OMP_NUM_THREADS (set per job by `mtharness run`
    and the joblib launcher), else the cores this process may run on."""
    if threads is not None and threads > 0:
        return int(threads)
    # parallel jobs each get a share of the cores; taking them all would oversubscribe
    if os.environ.get("OMP_NUM_THREADS", "").isdigit() and int(os.environ["OMP_NUM_THREADS"]) > 0:
        return int(os.environ["OMP_NUM_THREADS"])
    return usable_cores()


def versions(*packages: str) -> dict[str, str]:
    """Installed versions of the libraries that decide outputs ("absent" counts too: without
    sacremoses, MarianTokenizer skips punctuation normalisation)."""
    out = {}
    for package in (*packages, "transformers", "tokenizers", "sentencepiece", "sacremoses"):
        try:
            out[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            out[package] = "absent"
    return out


def decoding_identity(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Settings that decide outputs, JSON-friendly (tuples and mappings normalised)."""
    return {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in sorted(settings.items())}


class Truncation:
    """Encodes inputs, cutting those longer than the model takes; counts the cuts per direction.

    The policy and the counts go into scores.json (``truncation``), and each cut is logged as a
    warning, so a long paragraph that lost its end never goes unnoticed.
    """

    def __init__(self, max_tokens: int) -> None:
        self.max_tokens = int(max_tokens)
        self.counts: dict[str, int] = {}

    def encode(self, tokenizer: Any, texts: Sequence[str], pair: str) -> list[list[int]]:
        ids: list[list[int]] = tokenizer(list(texts), verbose=False)["input_ids"]
        long = [i for i, x in enumerate(ids) if len(x) > self.max_tokens]
        if long:
            cut = tokenizer([texts[i] for i in long], truncation=True, max_length=self.max_tokens)
            for i, seq in zip(long, cut["input_ids"], strict=True):
                ids[i] = seq
            self._note(pair, len(long))
        return ids

    def cut_texts(self, tokenizer: Any, texts: Sequence[str], pair: str) -> list[str]:
        """Texts, each cut to max_tokens tokens (for prompts: the segment is cut, never the prompt)."""
        ids = tokenizer(list(texts), add_special_tokens=False, verbose=False)["input_ids"]
        long = [i for i, x in enumerate(ids) if len(x) > self.max_tokens]
        out = list(texts)
        for i in long:
            out[i] = tokenizer.decode(ids[i][: self.max_tokens], skip_special_tokens=True)
        if long:
            self._note(pair, len(long))
        return out

    def _note(self, pair: str, n: int) -> None:
        self.counts[pair] = self.counts.get(pair, 0) + n
        logging.getLogger("mtharness").warning(
            "%s: %d segment(s) longer than max_input_tokens=%d were truncated (raise "
            "translator.max_input_tokens if the model allows)",
            pair,
            n,
            self.max_tokens,
        )

    def report(self) -> dict[str, Any]:
        return {
            "policy": "truncate",
            "max_input_tokens": self.max_tokens,
            "truncated_segments": dict(self.counts),
        }


class Seq2SeqSettings(TranslatorBase):
    """Settings and bookkeeping the hf and ct2 backends share (checkpoints, decoding, truncation).

    Subclasses add how to load and decode; identity() here names what both record, so a cache key
    changes whenever the checkpoint, its revision or a decoding setting does.
    """

    backend = "seq2seq"

    def __init__(
        self,
        name: str,
        model: str | None,
        models: Mapping[str, str] | None,
        revision: str | None,
        lang_style: str,
        lang_codes: Mapping[str, str] | None,
        num_beams: int,
        max_new_tokens: int,
        max_input_tokens: int,
        batch_size: int,
        max_batch_tokens: int | None,
        device: str,
        threads: int | None,
        trust_remote_code: bool,
    ) -> None:
        if lang_style not in LANG_STYLES:
            raise MtharnessError(f"translator.lang_style={lang_style!r}: choose one of {LANG_STYLES}")
        self.name = name
        self.model = expand_ref(model)
        self.models = {k: str(expand_ref(v)) for k, v in (models or {}).items()}
        self.revision = revision
        self.lang_style = lang_style
        self.lang_codes = dict(lang_codes or {})
        self.num_beams = int(num_beams)
        self.max_new_tokens = int(max_new_tokens)
        self.max_input_tokens = int(max_input_tokens)
        self._truncation = Truncation(self.max_input_tokens)
        self.batch_size = int(batch_size)
        self.max_batch_tokens = max_batch_tokens
        self.device = device
        self.threads = threads
        self.trust_remote_code = bool(trust_remote_code)
        self._loaded: dict[str, tuple[Any, Any, str]] = {}
        self._identity: dict[str, Any] | None = None

    batch_keyed = True  # identity() carries batch_identity(): see translators/base.py

    @property
    def context_free(self) -> bool:  # type: ignore[override]  # computed from batch_size
        """Only one segment per batch is promised context-free: padded batches may change outputs.

        Padding changes the shapes a segment's numbers go through (and length-sorted batching puts
        different neighbours next to it), so float results, and from them an argmax, can differ
        from the segment alone (measured: docs/translators.md, "Batching and padding").
        """
        return self.batch_size <= 1

    def batch_identity(self) -> dict[str, Any]:
        """For identity(): a batched backend keys its cache on the batching, so sizes never mix."""
        if self.context_free:
            return {"batch_independent": True}
        return {
            "batch_independent": False,
            "batch_size": self.batch_size,
            "max_batch_tokens": self.max_batch_tokens,
        }

    def check_direction(self, src: str, tgt: str) -> None:
        """Fail early (before the cache resolves every checkpoint) when no checkpoint serves src-tgt."""
        model_for(self.model, self.models, src, tgt)

    def prepare(self, texts: Sequence[str], src: str, tgt: str) -> None:
        """Load the checkpoint serving src-tgt (ct2: converted first, once) and check its language
        codes, so the runner times loading apart from translating."""
        tok, _, style = self._load(model_for(self.model, self.models, src, tgt))
        set_direction(tok, style, src, tgt, self.lang_codes)

    def _load(self, ref: str) -> tuple[Any, Any, str]:
        """(tokenizer, model, language style) for one checkpoint, loaded once: the backend's own."""
        raise NotImplementedError(f"{type(self).__name__}._load")

    def run_info(self) -> dict[str, Any]:
        """What this run did that scores.json should record: inputs truncated to the model's limit."""
        return {"truncation": self._truncation.report()}

    def _style(self, tokenizer: Any) -> str:
        return detect_style(tokenizer) if self.lang_style == "auto" else self.lang_style

    def _common_identity(self, **decoding: Any) -> dict[str, Any]:
        checkpoints = {
            label: {"model": ref, "revision": resolve_revision(ref, self.revision)}
            for label, ref in all_models(self.model, self.models).items()
        }
        settings = {
            "num_beams": self.num_beams,
            "max_new_tokens": self.max_new_tokens,
            "max_input_tokens": self.max_input_tokens,
            "lang_style": self.lang_style,
            "lang_codes": self.lang_codes,
            **decoding,
        }
        return {"backend": self.backend, "checkpoints": checkpoints, "decoding": decoding_identity(settings)}
