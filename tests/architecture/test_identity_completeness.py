"""Identity completeness: every setting that can change an output is in the key that output is stored or
compared under, or is excluded here with its reason.

Translators: every constructor parameter of every class a shipped config names (configs/translator/*.yaml,
``_target_``) is changed alone, and the translation cache key of a direction (``identity()`` plus
``direction_identity(src, tgt)``, as run/cache.py keys it) must change with it. Metrics: every
constructor argument of each sacrebleu metric ``scoring.metrics`` offers must change its signature, and
so must every COMET setting. A new parameter without an entry fails until it is keyed or excluded.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import json
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from mtharness.run.cache import system_key
from mtharness.scoring import metrics as M
from mtharness.translators import base
from mtharness.translators.seq2seq import Seq2SeqSettings

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"
SAMPLE_EN = REPO / "src" / "mtharness" / "data" / "sample" / "sample.en"
FEW_SHOT = {  # k > 0, so the seed that draws the examples matters (with k = 0 nothing is drawn)
    "name": "few_shot",
    "template": "Translate this {src_lang} text into {tgt_lang}.\n{src_lang}: {source}\n{tgt_lang}:",
    "k": 2,
    "dev_src": "mtharness:data/sample/dev.{src}",
    "dev_tgt": "mtharness:data/sample/dev.{tgt}",
}

# What each class is built with before one parameter is changed: local files only, nothing loaded.
BASE_KWARGS: dict[str, dict[str, Any]] = {
    "CommandTranslator": {"argv": ["cat"]},
    "CT2Translator": {"model": str(FIXTURES / "tiny_marian_copy"), "device": "cpu"},
    "HFTranslator": {"model": str(FIXTURES / "tiny_marian_copy")},
    "LLMTranslator": {"model": str(FIXTURES / "tiny_llm"), "prompt": FEW_SHOT, "seed": 1},
    "OpenAITranslator": {"model": "m", "prompt": FEW_SHOT, "seed": 1},
}

# Another valid value per parameter name (the first one that differs from the base value is used).
ALTERNATIVES: dict[str, list[Any]] = {
    "name": ["another-name"],
    "normalize_spaces": [True],
    "max_answer_chars": [50],
    "model": [str(FIXTURES / "tiny_llm"), str(FIXTURES / "tiny_marian_copy"), "other-model"],
    "models": [{"en-de": str(FIXTURES / "tiny_llm")}],
    "revision": ["v2"],
    "lang_style": ["nllb"],
    "lang_codes": [{"de": "deu_Latn"}],
    "num_beams": [3],
    "max_new_tokens": [7],
    "max_input_tokens": [9],
    "batch_size": [3],
    "max_batch_tokens": [100],
    "dtype": ["bfloat16"],
    "device": ["cuda"],
    "threads": [3],
    "inter_threads": [3],
    "trust_remote_code": [True],
    "compute_type": ["float32"],
    "quantization": ["int8"],
    "convert_dir": ["/elsewhere/ct2"],
    "chat_template": ["plain"],
    "cleanup": [False],
    "sentence_level": [True],
    "prompt": [{"name": "custom", "template": "Put into {tgt_lang}: {source}"}],
    "seed": [12345],
    "binary": ["/opt/apertium/bin/apertium"],
    "mark_unknown": [True],
    "modes": [{"en-es": "eng-cat"}],
    "timeout_s": [5.0],
    "argv": [["tr", "a-z", "A-Z"]],
    "persistent": [True],
    "line_timeout_s": [5.0],
    "one_per_call": [True],
    "context_free": [True],
    "newline_token": [" <br> "],
    "env": [{"MT_MODEL": "big"}],
    "cwd": ["/tmp"],
    "version": ["v2"],
    "forward": [str(SAMPLE_EN)],
    "back": [str(SAMPLE_EN)],
    "source": [str(SAMPLE_EN)],
    "src_lang": ["de"],
    "tgt_lang": ["fr"],
    "fallback": ["echo"],  # resolved to an EchoTranslator below
    "dictionary": ["/usr/share/trans/other"],
    "base_url": ["http://127.0.0.1:9/v1"],
    "api_key_env": ["SOME_KEY"],
    "endpoint": ["completions"],
    "max_concurrency": [2],
    "max_retries": [1],
    "backoff_s": [0.5],
    "max_backoff_s": [5.0],
    "requests_per_minute": [60.0],
    "temperature": [0.7],
    "max_tokens": [7],
    "stop": [["\n"]],
    "extra_body": [{"top_p": 0.5}],
    "price_per_1k_input": [1.0],
    "price_per_1k_output": [1.0],
}

# Parameters that need not change the cache key, each with why. (class name, parameter) entries win
# over plain parameter names.
EXCLUDED: dict[str | tuple[str, str], str] = {
    "name": "the label results show: the same settings under another name give the same outputs",
    "threads": "CPU threads change speed, not outputs",
    "inter_threads": "batches decoded side by side: speed, not outputs",
    "convert_dir": "where the CTranslate2 conversion is kept; the conversion itself is keyed by checkpoint",
    "revision": "pins a hub checkpoint: the key holds what it resolves to (the test's checkpoints are "
    "local folders, keyed by their content hash)",
    "timeout_s": "how long to wait for an answer, not what the answer is",
    "line_timeout_s": "how long to wait for an output line, not what it is",
    ("CT2Translator", "trust_remote_code"): "lets a checkpoint that ships its own code load at all (it fails "
    "without); the converted model is keyed by checkpoint and revision",
    ("ApertiumTranslator", "binary"): "the executable's path; the installed Apertium packages' versions "
    "(identity 'version') decide the outputs",
    ("CommandTranslator", "persistent"): "one process per direction or per chunk, same lines in and "
    "out (recorded in run_info)",
    ("CommandTranslator", "context_free"): "the user's promise that decides whether outputs are cached at "
    "all (recorded in run_info)",
    ("CommandTranslator", "cwd"): "where the command runs; argv and the user's `version` tag name the "
    "model (a relative model path in argv must be re-tagged when cwd changes)",
    ("FilesTranslator", "src_lang"): "which direction reads `forward`; files outputs are never cached "
    "(cacheable=False)",
    ("FilesTranslator", "tgt_lang"): "as src_lang",
    "api_key_env": "which variable holds the key: it authenticates, it does not change the answer",
    "max_concurrency": "transport: requests in flight, not what is answered",
    "max_retries": "transport: how often a failed request is retried",
    "backoff_s": "transport: the wait between retries",
    "max_backoff_s": "transport: the cap on that wait",
    "requests_per_minute": "transport: request pacing",
    "price_per_1k_input": "the cost estimate in scores.json usage, not the translation",
    "price_per_1k_output": "as price_per_1k_input",
}

DIRECTIONS = (("en", "de"), ("de", "en"))


def _targets(node: Any) -> Iterator[str]:
    if isinstance(node, Mapping):
        for key, value in node.items():
            if key == "_target_":
                yield str(value)
            else:
                yield from _targets(value)
    elif isinstance(node, list):
        for item in node:
            yield from _targets(item)


def shipped_translator_classes() -> dict[str, type]:
    """Every class a shipped translator config instantiates (nested ones, e.g. a fallback, too)."""
    targets = set()
    for path in sorted((REPO / "configs" / "translator").glob("*.yaml")):
        targets.update(_targets(yaml.safe_load(path.read_text(encoding="utf-8"))))
    classes = {}
    for target in sorted(targets):
        module, _, name = target.rpartition(".")
        classes[name] = getattr(importlib.import_module(module), name)
    return classes


CLASSES = shipped_translator_classes()


def parameters(cls: type) -> list[str]:
    return [
        p.name
        for p in inspect.signature(cls.__init__).parameters.values()
        if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]


def build(cls: type, **changes: Any) -> Any:
    kwargs = {**BASE_KWARGS.get(cls.__name__, {}), **changes}
    if kwargs.get("fallback") == "echo":
        kwargs["fallback"] = CLASSES["EchoTranslator"]()
    return cls(**kwargs)


def cache_key(translator: Any) -> str:
    """What the translation cache keys every direction on (run/cache.py: system_key of the
    identity joined by the direction's own identity)."""
    keys = {
        f"{src}-{tgt}": system_key(
            {**translator.identity(), "direction": base.direction_identity(translator, src, tgt)}
        )
        for src, tgt in DIRECTIONS
    }
    return json.dumps(keys, sort_keys=True)


def alternative(cls: type, param: str) -> Any:
    default = inspect.signature(cls.__init__).parameters[param].default
    current = BASE_KWARGS.get(cls.__name__, {}).get(param, default)
    if param not in ALTERNATIVES:
        raise AssertionError(
            f"{cls.__name__}({param}=...): new parameter; give it an alternative value in ALTERNATIVES "
            "and key it in identity() (or exclude it in EXCLUDED with a reason)"
        )
    return next(v for v in ALTERNATIVES[param] if v != current)


def reason(cls: type, param: str) -> str | None:
    return EXCLUDED.get((cls.__name__, param), EXCLUDED.get(param))


def unkeyed_parameters(classes: Mapping[str, type] = CLASSES) -> dict[str, list[str]]:
    """Per class, the parameters whose change leaves the cache key as it was."""
    found: dict[str, list[str]] = {}
    for name, cls in classes.items():
        before = cache_key(build(cls))
        for param in parameters(cls):
            after = cache_key(build(cls, **{param: alternative(cls, param)}))
            if after == before:
                found.setdefault(name, []).append(param)
    return found


def test_the_shipped_translators_are_all_here() -> None:
    assert {
        "ApertiumTranslator", "CommandTranslator", "CT2Translator", "EchoTranslator", "FilesTranslator",
        "GlossTranslator", "HFTranslator", "LLMTranslator", "OpenAITranslator",
    } <= set(CLASSES)  # fmt: skip


def test_every_translator_parameter_is_keyed_or_excluded_with_a_reason() -> None:
    unkeyed = unkeyed_parameters()
    missing = [
        f"{name}.{param}"
        for name, params in unkeyed.items()
        for param in params
        if not reason(CLASSES[name], param)
    ]
    assert missing == [], f"not in the translation cache key and not excluded: {missing}"
    # an exclusion must still be needed by some class: a stale one hides nothing but misleads
    needed = {(n, p) for n, params in unkeyed.items() for p in params}
    for entry in EXCLUDED:
        if isinstance(entry, tuple):
            assert entry in needed, f"EXCLUDED {entry}: it is keyed now; drop the exclusion"
        else:
            assert any(p == entry for _, p in needed), f"EXCLUDED {entry!r}: it is keyed now; drop it"
    assert all(r.strip() for r in EXCLUDED.values())


def test_dropping_max_input_tokens_from_the_key_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """The negative case: the key loses max_input_tokens (as it once could without a test failing)."""
    original = Seq2SeqSettings._common_identity

    def without_max_input(self: Seq2SeqSettings, **decoding: Any) -> dict[str, Any]:
        out = original(self, **decoding)
        out["decoding"] = {k: v for k, v in out["decoding"].items() if k != "max_input_tokens"}
        return out

    monkeypatch.setattr(Seq2SeqSettings, "_common_identity", without_max_input)
    unkeyed = unkeyed_parameters({n: CLASSES[n] for n in ("HFTranslator", "CT2Translator", "LLMTranslator")})
    assert all("max_input_tokens" in unkeyed[n] for n in ("HFTranslator", "CT2Translator", "LLMTranslator"))


def test_a_parameter_without_an_alternative_value_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(ALTERNATIVES, "max_input_tokens")
    with pytest.raises(AssertionError, match=r"max_input_tokens=\.\.\.\): new parameter"):
        unkeyed_parameters({"HFTranslator": CLASSES["HFTranslator"]})


# ---- metrics: every constructor argument is in the signature scores are compared under ----

# Another valid value per sacrebleu constructor argument.
METRIC_ALTERNATIVES: dict[str, list[Any]] = {
    "lowercase": [True],
    "force": [True],
    "tokenize": ["char", "intl"],
    "smooth_method": ["floor"],
    "smooth_value": [0.5],
    "max_ngram_order": [3],
    "effective_order": [True],
    "trg_lang": ["zh"],
    "char_order": [5],
    "word_order": [1, 3],
    "beta": [3],
    "whitespace": [True],
    "eps_smoothing": [True],
    "normalized": [True],
    "no_punct": [True],
    "asian_support": [True],
    "case_sensitive": [True],
}
METRIC_EXCLUDED: dict[str, str] = {
    "references": "pre-computed references to score against: data, not a setting (never passed)",
    "smooth_value": "sacrebleu's signature prints only the method; the value is the method's default "
    "unless set, and `compare`/`gate` pass it through --smooth-value on both sides",
    "effective_order": "sacrebleu leaves it out of the signature; sentence-level BLEU only",
    "trg_lang": "chooses the tokenizer (tok:zh/ja-mecab/ko-mecab), which the signature names",
    "force": "only silences sacrebleu's warning about already-tokenized input; the score is the same",
    "beta": "the score's name carries it (chrF2 vs chrF3), and names are compared beside signatures",
}
# Arguments that change the score but not sacrebleu's signature: real gaps, listed so they stay
# visible; the metric registry (issue 21, item 1) is to close them. When one is closed this test
# says so, and the entry goes.
METRIC_KNOWN_GAPS: dict[str, str] = {
    "max_ngram_order": "BLEU with max_ngram_order=3 signs like the default 4: sacrebleu omits it",
}


def sacrebleu_kinds() -> dict[str, tuple[type, dict[str, Any]]]:
    """Every sacrebleu-backed metric kind scoring.metrics offers, with its fixed arguments."""
    from mtharness.scoring import registry
    from mtharness.scoring.sacrebleu_metrics import SacrebleuMetric

    out: dict[str, tuple[type, dict[str, Any]]] = {}
    for kind in registry.BUILTIN:
        metric = registry.get(kind)
        if isinstance(metric, SacrebleuMetric):
            out[kind] = (metric.sacrebleu_class, dict(metric.fixed))
    return out


def metric_signature(kind: str, args: Mapping[str, Any]) -> str:
    metric = M.make_metric(M.MetricSpec(kind, dict(args)), "de")
    metric.num_refs = 1  # sacrebleu prints nrefs once the metric has seen references
    return str(metric.get_signature().format())


def unsigned_metric_arguments() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for kind, (cls, fixed) in sacrebleu_kinds().items():
        before = metric_signature(kind, {})
        for param in parameters(cls):
            if param in fixed:  # set by the kind itself (chrF++ is word_order=2)
                continue
            if param not in METRIC_ALTERNATIVES and param not in METRIC_EXCLUDED:
                raise AssertionError(f"{cls.__name__}({param}=...): new argument; give it an alternative")
            changed = [
                v for v in METRIC_ALTERNATIVES.get(param, []) if metric_signature(kind, {param: v}) != before
            ]
            if not changed:
                found.setdefault(kind, []).append(param)
    return found


def test_every_sacrebleu_argument_is_in_the_signature_or_excluded() -> None:
    unsigned = unsigned_metric_arguments()
    allowed = {**METRIC_EXCLUDED, **METRIC_KNOWN_GAPS}
    missing = [f"{k}.{p}" for k, params in unsigned.items() for p in params if p not in allowed]
    assert missing == [], f"not in the metric's signature and not excluded: {missing}"
    found = {p for params in unsigned.values() for p in params}
    closed = set(METRIC_KNOWN_GAPS) - found
    assert not closed, f"{closed} now change the signature: drop them from METRIC_KNOWN_GAPS"
    assert set(sacrebleu_kinds()) >= {"bleu", "chrf", "chrfpp", "ter"}


def test_every_sacrebleu_option_is_a_constructor_argument() -> None:
    for option, (kinds, arg) in M.SACREBLEU_OPTIONS.items():
        for kind in kinds:
            cls, _ = sacrebleu_kinds()[kind]
            assert arg in parameters(cls), f"--{option}: {cls.__name__} has no argument {arg!r}"


def test_a_dropped_signature_field_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """The negative case: BLEU's signature stops naming the tokenizer."""
    from sacrebleu.metrics.bleu import BLEUSignature

    init: Callable[..., None] = BLEUSignature.__init__

    def without_tokenizer(self: Any, args: dict[str, Any]) -> None:
        init(self, args)
        self.info.pop("tok", None)

    monkeypatch.setattr(BLEUSignature, "__init__", without_tokenizer)
    assert "tokenize" in unsigned_metric_arguments()["bleu"]


def comet_signature(cfg: Any) -> str:
    from mtharness.scoring.comet.metric import CometScorer

    class Offline(CometScorer):  # the checkpoint hash and package version of a real run, fixed here
        def checkpoint_sha256(self) -> str:
            return "0" * 64

        def comet_version(self) -> str:
            return "2.2.7"

    return Offline(cfg, None).signature()  # type: ignore[arg-type]


COMET_ALTERNATIVES: dict[str, Any] = {
    "kind": "cometkiwi",
    "model": "Unbabel/another-comet-checkpoint",  # a hub id: nothing is read for it here
    "batch_size": 16,
    "device": "cuda",
}


@pytest.mark.parametrize("kind", ["comet", "cometkiwi"])
def test_every_comet_setting_is_in_its_signature(kind: str) -> None:
    from mtharness.scoring.comet.metric import CometConfig, comet_config

    before = comet_signature(comet_config(kind, {}))
    for field in dataclasses.fields(CometConfig):
        assert field.name in COMET_ALTERNATIVES, (
            f"CometConfig.{field.name}: new setting; give it an alternative"
        )
        value = COMET_ALTERNATIVES[field.name]
        if field.name == "kind" and kind == "cometkiwi":
            value = "comet"
        changed = dataclasses.replace(comet_config(kind, {}), **{field.name: value})
        assert comet_signature(changed) != before, f"metrics.{kind}.{field.name} is not in the signature"


METRICX_ALTERNATIVES: dict[str, Any] = {
    "model": "google/metricx-24-hybrid-xl-v2p6",
    "tokenizer": "google/mt5-large",
    "mode": "qe",
    "max_input_length": 512,
    "device": "cuda",
    "dtype": "float32",
}
# settings that cannot change a score, each with its reason
METRICX_UNSIGNED = {
    "batch_size": "padding is masked: a batch changes scores by float rounding only (< 1e-5, tested)",
}


def test_every_metricx_setting_is_in_its_signature() -> None:
    from mtharness.scoring.metricx import MetricXConfig, MetricXScorer

    base = MetricXConfig()
    before = MetricXScorer(base).signature()
    for field in dataclasses.fields(MetricXConfig):
        if field.name in METRICX_UNSIGNED:
            continue
        assert field.name in METRICX_ALTERNATIVES, (
            f"MetricXConfig.{field.name}: new setting; give it an alternative"
        )
        changed = dataclasses.replace(base, **{field.name: METRICX_ALTERNATIVES[field.name]})
        assert MetricXScorer(changed).signature() != before, (
            f"metrics.metricx.{field.name} is not in the signature"
        )
