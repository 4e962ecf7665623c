"""Prompts for LLM translators: a system prompt, a user-turn template and optional few-shot examples.

A prompt is fixed per direction: the k examples are drawn once per (seed, src, tgt) from a dev
file, so every segment of a direction sees the same prompt, and ``template_hash(src, tgt)`` (the
rendered prompt without the source text) names it. Backends put that hash into their identity,
which keys the translation cache and is written to scores.json: two prompts never share outputs.

Few-shot examples become prior user/assistant turns in ``messages()`` (each example's source
rendered through ``template``, its target as the assistant's answer), unless the template has an
``{examples}`` placeholder: then they are rendered with ``example_template`` inside the user turn.
``plain()`` (completion endpoints, tokenizers without a chat template) writes the system prompt,
the examples through ``example_template`` and the template, separated by blank lines.
"""

from __future__ import annotations

import hashlib
import json
import random
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from mtharness.core import DEFAULT_SEED, MtharnessError
from mtharness.textio import read_lines

# ISO 639-1 (and a few regional variants) -> English names; an unknown code is shown as itself
LANGUAGE_NAMES = {
    "ar": "Arabic", "bg": "Bulgarian", "bn": "Bengali", "ca": "Catalan", "cs": "Czech",
    "da": "Danish", "de": "German", "el": "Greek", "en": "English", "eo": "Esperanto",
    "es": "Spanish", "et": "Estonian", "eu": "Basque", "fa": "Persian", "fi": "Finnish",
    "fr": "French", "ga": "Irish", "gl": "Galician", "gu": "Gujarati", "ha": "Hausa",
    "he": "Hebrew", "hi": "Hindi", "hr": "Croatian", "hu": "Hungarian", "id": "Indonesian",
    "is": "Icelandic", "it": "Italian", "ja": "Japanese", "kk": "Kazakh", "km": "Khmer",
    "ko": "Korean", "lt": "Lithuanian", "lv": "Latvian", "mk": "Macedonian", "ml": "Malayalam",
    "mr": "Marathi", "ms": "Malay", "mt": "Maltese", "my": "Burmese", "ne": "Nepali",
    "nl": "Dutch", "no": "Norwegian", "pl": "Polish", "ps": "Pashto", "pt": "Portuguese",
    "ro": "Romanian", "ru": "Russian", "si": "Sinhala", "sk": "Slovak", "sl": "Slovenian",
    "sr": "Serbian", "sv": "Swedish", "sw": "Swahili", "ta": "Tamil", "te": "Telugu",
    "th": "Thai", "tl": "Tagalog", "tr": "Turkish", "uk": "Ukrainian", "ur": "Urdu",
    "uz": "Uzbek", "vi": "Vietnamese", "xh": "Xhosa", "yo": "Yoruba", "zh": "Chinese",
    "zh_Hans": "Simplified Chinese", "zh_Hant": "Traditional Chinese", "zu": "Zulu",
    "pt_BR": "Brazilian Portuguese", "pt_PT": "European Portuguese",
}  # fmt: skip
FIELDS = ("src_lang", "tgt_lang", "source", "examples")
EXAMPLE_FIELDS = ("src_lang", "tgt_lang", "source", "target")
CONFIG_KEYS = ("name", "system", "template", "example_template", "k", "dev_src", "dev_tgt", "dev_pair")
PACKAGE_PREFIX = "mtharness:"  # dev paths inside the installed package (the bundled dev sentences)
SOURCE_MARK = "\x00SOURCE\x00"  # stands in for the segment when the prompt is hashed


def language_name(code: str) -> str:
    """English name of an ISO code (en -> English, zh_Hant -> Traditional Chinese); else the code."""
    return LANGUAGE_NAMES.get(code) or LANGUAGE_NAMES.get(code.split("_")[0].split("-")[0].lower(), code)


def _check_fields(text: str, allowed: Sequence[str], key: str) -> None:
    try:
        names = [f for _, f, _, _ in string.Formatter().parse(text) if f is not None]
    except ValueError as exc:
        raise MtharnessError(f"prompt.{key}: {exc} (write a literal brace as {{{{ or }}}})") from None
    bad = [n for n in names if n not in allowed]
    if bad:
        raise MtharnessError(
            f"prompt.{key}: unknown placeholder {{{bad[0]}}}; use {', '.join('{' + a + '}' for a in allowed)}"
        )


def resolve_dev_path(path: str, src: str, tgt: str) -> Path:
    """A dev file path with {src}/{tgt} filled in; ``mtharness:`` means inside the installed package."""
    filled = path.replace("{src}", src).replace("{tgt}", tgt)
    if filled.startswith(PACKAGE_PREFIX):
        return Path(__file__).resolve().parents[1] / filled[len(PACKAGE_PREFIX) :]
    return Path(filled).expanduser()


@cache
def _dev_pairs(src_path: Path, tgt_path: Path) -> tuple[tuple[str, str], ...]:
    sources = read_lines(src_path, "prompt.dev_src")
    targets = read_lines(tgt_path, "prompt.dev_tgt")
    if len(sources) != len(targets):
        raise MtharnessError(
            f"prompt dev files {src_path} ({len(sources)} lines) and {tgt_path} ({len(targets)} lines) "
            "are not aligned; give one translation per line"
        )
    return tuple((s, t) for s, t in zip(sources, targets, strict=True) if s.strip() and t.strip())


@dataclass(frozen=True)
class Prompt:
    """One prompt configuration (see the module docstring for how the parts are put together)."""

    name: str
    system: str | None
    template: str
    example_template: str = "{source}\n{target}"
    k: int = 0
    dev_src: str | None = None
    dev_tgt: str | None = None
    seed: int = 0
    dev_pair: str | None = None  # languages of fixed dev paths (src-tgt); the reverse swaps them

    def __post_init__(self) -> None:
        _check_fields(self.template, FIELDS, "template")
        if "{source}" not in self.template:
            raise MtharnessError("prompt.template must contain {source} (where the segment goes)")
        _check_fields(self.example_template, EXAMPLE_FIELDS, "example_template")
        if self.system:
            _check_fields(self.system, ("src_lang", "tgt_lang"), "system")
        if self.k < 0:
            raise MtharnessError(f"prompt.k={self.k}: the number of few-shot examples must be >= 0")
        if self.k and not (self.dev_src and self.dev_tgt):
            raise MtharnessError(
                f"prompt.k={self.k} needs a dev set: set prompt.dev_src and prompt.dev_tgt (parallel "
                "files, never the test set; {src}/{tgt} in a path take the direction's codes)"
            )

    # ---- examples -------------------------------------------------------------------------------
    def dev_files(self, src: str, tgt: str) -> tuple[Path, Path]:
        """The (source, target) dev files for a direction."""
        assert self.dev_src and self.dev_tgt
        templated = "{src}" in self.dev_src + self.dev_tgt or "{tgt}" in self.dev_src + self.dev_tgt
        if templated or not self.dev_pair or self.dev_pair == f"{src}-{tgt}":
            return resolve_dev_path(self.dev_src, src, tgt), resolve_dev_path(self.dev_tgt, src, tgt)
        if self.dev_pair == f"{tgt}-{src}":
            return resolve_dev_path(self.dev_tgt, src, tgt), resolve_dev_path(self.dev_src, src, tgt)
        raise MtharnessError(
            f"prompt.dev_pair={self.dev_pair}: the dev files cannot serve {src}-{tgt}; use {{src}}/{{tgt}} "
            "in prompt.dev_src/dev_tgt to name one file per language"
        )

    def examples(self, src: str, tgt: str) -> list[tuple[str, str]]:
        """The k (source, target) examples for this direction, drawn with the run's seed."""
        if not self.k:
            return []
        src_path, tgt_path = self.dev_files(src, tgt)
        pairs = _dev_pairs(src_path, tgt_path)
        if len(pairs) < self.k:
            raise MtharnessError(
                f"prompt.k={self.k} but the dev files {src_path} and {tgt_path} hold only {len(pairs)} "
                "non-empty pairs; lower prompt.k or give a bigger dev set"
            )
        # a string seed is hashed deterministically by random.Random (sha512), unlike hash()
        rng = random.Random(f"{self.seed}:{self.name}:{src}-{tgt}")
        return [pairs[i] for i in sorted(rng.sample(range(len(pairs)), self.k))]

    def check_not_test(self, texts: Sequence[str], src: str, tgt: str) -> None:
        """Refuse a dev file that shares a source segment with the texts to translate (a leak)."""
        if not self.k:
            return
        src_path, _ = self.dev_files(src, tgt)
        dev_sources = {s.strip() for s, _ in _dev_pairs(*self.dev_files(src, tgt))}
        for text in texts:
            if text.strip() and text.strip() in dev_sources:
                raise MtharnessError(
                    f"prompt dev file {src_path} contains the test segment {text.strip()[:60]!r}: few-shot "
                    "examples must never come from the test set; point prompt.dev_src/dev_tgt at a dev set"
                )

    # ---- rendering ------------------------------------------------------------------------------
    def _names(self, src: str, tgt: str) -> dict[str, str]:
        return {"src_lang": language_name(src), "tgt_lang": language_name(tgt)}

    def _example_block(self, src: str, tgt: str) -> str:
        names = self._names(src, tgt)
        return "\n\n".join(
            self.example_template.format(**names, source=s, target=t) for s, t in self.examples(src, tgt)
        )

    def _user(self, text: str, src: str, tgt: str, examples: str = "") -> str:
        return self.template.format(**self._names(src, tgt), source=text, examples=examples)

    def messages(self, text: str, src: str, tgt: str) -> list[dict[str, str]]:
        """Chat messages: system prompt, examples (as turns, or inline via {examples}), the segment."""
        out: list[dict[str, str]] = []
        if self.system:
            out.append({"role": "system", "content": self.system.format(**self._names(src, tgt))})
        if "{examples}" in self.template:
            out.append({"role": "user", "content": self._user(text, src, tgt, self._example_block(src, tgt))})
            return out
        for source, target in self.examples(src, tgt):
            out.append({"role": "user", "content": self._user(source, src, tgt)})
            out.append({"role": "assistant", "content": target})
        out.append({"role": "user", "content": self._user(text, src, tgt)})
        return out

    def plain(self, text: str, src: str, tgt: str) -> str:
        """One prompt string for completion endpoints and tokenizers without a chat template."""
        examples = self._example_block(src, tgt)
        parts = [self.system.format(**self._names(src, tgt))] if self.system else []
        if "{examples}" in self.template:
            parts.append(self._user(text, src, tgt, examples))
        else:
            parts.extend([examples] if examples else [])
            parts.append(self._user(text, src, tgt))
        return "\n\n".join(parts)

    def template_hash(self, src: str, tgt: str) -> str:
        """sha256 of the rendered prompt for this direction (examples included, source left out)."""
        rendered = {
            "messages": self.messages(SOURCE_MARK, src, tgt),
            "plain": self.plain(SOURCE_MARK, src, tgt),
        }
        blob = json.dumps(rendered, sort_keys=True, ensure_ascii=False)
        return "sha256:" + hashlib.sha256(blob.encode("utf-8")).hexdigest()

    def identity(self, pairs: Sequence[tuple[str, str]]) -> dict[str, Any]:
        """{name, hash per direction} for a translator identity and scores.json."""
        return {"name": self.name, "hash": {f"{s}-{t}": self.template_hash(s, t) for s, t in pairs}}


def prompt_from_config(cfg: Mapping[str, Any] | Prompt | None, seed: int | None = None) -> Prompt:
    """A Prompt from the `prompt` config group (a mapping); None gives the zero-shot default.
    ``seed`` null: core.DEFAULT_SEED, as for the run."""
    if isinstance(cfg, Prompt):
        return cfg
    data = dict(cfg or {})
    unknown = sorted(set(data) - set(CONFIG_KEYS))
    if unknown:
        raise MtharnessError(
            f"prompt.{unknown[0]}: unknown key; prompt configs take {', '.join(CONFIG_KEYS)}"
        )
    if cfg is None:
        data = dict(DEFAULT_ZERO_SHOT)
    if not data.get("template"):
        raise MtharnessError(
            "prompt.template is missing: the user turn, with {source} where the segment goes"
        )
    return Prompt(
        name=str(data.get("name") or "custom"),
        system=None if data.get("system") in (None, "") else str(data["system"]),
        template=str(data["template"]),
        example_template=str(data.get("example_template") or Prompt.example_template),
        k=int(data.get("k") or 0),
        dev_src=None if data.get("dev_src") is None else str(data["dev_src"]),
        dev_tgt=None if data.get("dev_tgt") is None else str(data["dev_tgt"]),
        seed=DEFAULT_SEED if seed is None else int(seed),
        dev_pair=None if data.get("dev_pair") is None else str(data["dev_pair"]),
    )


# what configs/prompt/zero_shot.yaml holds, for code that builds a translator without Hydra
DEFAULT_ZERO_SHOT: dict[str, Any] = {
    "name": "zero_shot",
    "system": "You are a professional translator. Translate the user's {src_lang} text into "
    "{tgt_lang}. Reply with the translation only.",
    "template": "Translate this {src_lang} text into {tgt_lang}.\n{src_lang}: {source}\n{tgt_lang}:",
    "example_template": "{src_lang}: {source}\n{tgt_lang}: {target}",
}
