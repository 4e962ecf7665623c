"""The prompts of the LLM judges: configs/judge/<name>.yaml, chosen by ``metrics.<kind>.judge``.

A judge prompt is a system message, a user template and optional few-shot examples. Each example is
rendered with the same template as a user turn, followed by its ``answer`` as the assistant's turn,
so the judge sees how we want it to answer before the segment it is asked about.

Placeholders: {src_lang} {tgt_lang} (English names of the direction's codes), {source},
{translation} and, optionally, {reference}; a template with {reference} makes the judge
reference-based (it then needs references; without it the judge is reference-free). Other braces are
literal text (a JSON answer layout can be written as is).

The prompt hash is the sha256 of the messages rendered with the placeholders left in: it changes
with any word of the system message, template or examples, and is part of the metric's signature.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mtharness.core import MtharnessError
from mtharness.host import config_dir
from mtharness.translators.prompts import language_name

KINDS = ("mqm", "da")
FIELDS = ("src_lang", "tgt_lang", "source", "translation", "reference")
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_KEYS = ("name", "kind", "system", "template", "examples")
_EXAMPLE_KEYS = ("src_lang", "tgt_lang", "source", "translation", "reference", "answer")


def _check_placeholders(text: str, where: str) -> None:
    unknown = [m.group(1) for m in _PLACEHOLDER.finditer(text) if m.group(1) not in FIELDS]
    if unknown:
        known = ", ".join("{" + f + "}" for f in FIELDS)
        raise MtharnessError(f"{where}: unknown placeholder {{{unknown[0]}}}; known: {known}")


def render(text: str, values: Mapping[str, str]) -> str:
    """``text`` with each known placeholder replaced (one pass: a value holding "{source}" stays)."""
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


@dataclass(frozen=True)
class Example:
    src_lang: str
    tgt_lang: str
    source: str
    translation: str
    answer: str
    reference: str = ""


@dataclass(frozen=True)
class JudgePrompt:
    name: str
    kind: str  # mqm or da
    system: str
    template: str
    examples: tuple[Example, ...] = ()

    @property
    def uses_reference(self) -> bool:
        return "{reference}" in self.template

    def messages(
        self, src: str, tgt: str, source: str, translation: str, reference: str | None = None
    ) -> list[dict[str, str]]:
        """The chat messages asking about one segment of direction src -> tgt (ISO codes)."""
        out = [{"role": "system", "content": self.system}] if self.system else []
        out += self._example_turns()
        out.append({"role": "user", "content": self._user(src, tgt, source, translation, reference or "")})
        return out

    def _example_turns(self) -> list[dict[str, str]]:
        turns = []
        for ex in self.examples:
            question = self._user(ex.src_lang, ex.tgt_lang, ex.source, ex.translation, ex.reference)
            turns += [{"role": "user", "content": question}, {"role": "assistant", "content": ex.answer}]
        return turns

    def _user(self, src: str, tgt: str, source: str, translation: str, reference: str) -> str:
        values = {
            "src_lang": language_name(src),
            "tgt_lang": language_name(tgt),
            "source": source,
            "translation": translation,
            "reference": reference,
        }
        return render(self.template, values)

    def digest(self) -> str:
        """sha256 of the messages with the placeholders left in, the examples rendered."""
        turns = [{"role": "system", "content": self.system}, *self._example_turns()]
        turns.append({"role": "user", "content": self.template})
        blob = json.dumps({"kind": self.kind, "messages": turns}, ensure_ascii=False, sort_keys=True)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _text(node: Mapping[str, Any], key: str, where: str, required: bool = True) -> str:
    value = node.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise MtharnessError(f"{where}: '{key}' must be a non-empty string")
    return value


def prompt_from_node(node: Any, where: str, default_name: str = "judge") -> JudgePrompt:
    """A judge prompt from its YAML mapping, checked key by key (one line naming what is wrong)."""
    if not isinstance(node, Mapping):
        raise MtharnessError(f"{where}: must be a mapping with kind, system, template (and examples)")
    unknown = sorted(set(map(str, node)) - set(_KEYS))
    if unknown:
        raise MtharnessError(f"{where}: unknown key(s) {unknown}; known: {', '.join(_KEYS)}")
    kind = str(node.get("kind", ""))
    if kind not in KINDS:
        raise MtharnessError(f"{where}: kind must be mqm or da, got {kind!r}")
    template = _text(node, "template", where)
    _check_placeholders(template, f"{where}: template")
    for needed in ("{source}", "{translation}"):
        if needed not in template:
            raise MtharnessError(f"{where}: the template must contain {needed}")
    system = _text(node, "system", where, required=False)
    _check_placeholders(system, f"{where}: system")
    raw_examples = node.get("examples") or []
    if not isinstance(raw_examples, Sequence) or isinstance(raw_examples, str):
        raise MtharnessError(f"{where}: 'examples' must be a list")
    examples = []
    for i, ex in enumerate(raw_examples):
        at = f"{where}: examples[{i}]"
        if not isinstance(ex, Mapping):
            raise MtharnessError(f"{at} must be a mapping with {', '.join(_EXAMPLE_KEYS)}")
        bad = sorted(set(map(str, ex)) - set(_EXAMPLE_KEYS))
        if bad:
            raise MtharnessError(f"{at}: unknown key(s) {bad}; known: {', '.join(_EXAMPLE_KEYS)}")
        fields = {k: _text(ex, k, at, required=k != "reference") for k in _EXAMPLE_KEYS}
        examples.append(Example(**fields))
    name = str(node.get("name") or default_name)
    return JudgePrompt(name, kind, system, template, tuple(examples))


def judge_dir() -> Path:
    return config_dir() / "judge"


def load_prompt(choice: str, where: str) -> JudgePrompt:
    """configs/judge/<choice>.yaml, or a YAML file path; one line naming the option when it fails."""
    text = str(choice).strip()
    path = Path(text).expanduser()
    if not text.endswith((".yaml", ".yml")):
        path = judge_dir() / f"{text}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in judge_dir().glob("*.yaml"))
        raise MtharnessError(
            f"{where}.judge={choice!r}: no such judge prompt; known: {', '.join(known)} (or a .yaml file path)"
        )
    try:
        node = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise MtharnessError(f"{where}.judge: cannot read {path} ({first})") from None
    return prompt_from_node(node, f"judge prompt {path}", path.stem)
