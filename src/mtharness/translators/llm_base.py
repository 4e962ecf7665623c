"""What every LLM backend shares (translator=llm here, translator=openai over HTTP): the prompt, the
output cleanup, raw outputs kept beside cleaned ones, and the per-direction prompt identity.

A backend subclasses ``LLMBackend`` and implements ``answer`` (the model's answers, one per text,
before cleanup). ``translate_raw`` checks the few-shot dev set against the texts, then asks
``answer``; ``translate`` = ``finish(translate_raw(...))``. The translation cache
(run/cache.py) stores the RAW answers and calls ``finish`` itself, so raw outputs survive a rerun
from the cache and a cleanup change never needs the model again.

Capabilities the runner and the cache look for (duck-typed, all optional for other backends):
- ``direction_identity(src, tgt)``: {"prompt": {name, hash}}: joins the cache key per direction;
- ``output_notes(texts, src, tgt)``: per-segment ``raw`` and ``cleanup`` lists for segments.jsonl,
  and per-direction summaries ({"llm_cleanup": {segments, cleaned, empty, refused}}) for scores.json;
- ``run_info()``: {"prompt": {name, hash per direction}} for scores.json.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mtharness.core import MtharnessError
from mtharness.translators import llm_cleanup
from mtharness.translators.prompts import Prompt, prompt_from_config

SENTENCE_LEVEL = ("auto", True, False)


def parse_sentence_level(value: Any) -> str | bool:
    """auto | true | false (strings from the command line too)."""
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if value not in SENTENCE_LEVEL:
        raise MtharnessError(f"translator.sentence_level={value!r}: choose auto, true or false")
    return value


class LLMBackend:
    """Prompt + cleanup bookkeeping; subclasses implement ``answer`` and ``identity``."""

    name: str

    def __init__(
        self,
        prompt: Mapping[str, Any] | Prompt | None,
        seed: int | None,
        cleanup: bool = True,
        sentence_level: Any = "auto",
    ) -> None:
        self.prompt = prompt_from_config(prompt, seed)
        self.cleanup = bool(cleanup)
        self.sentence_level = parse_sentence_level(sentence_level)
        # (pair, source) -> (raw, cleaned) for every output finished in this process
        self._notes: dict[tuple[str, str], tuple[str, llm_cleanup.Cleaned]] = {}
        self._hashes: dict[str, str] = {}

    def answer(self, texts: Sequence[str], src: str, tgt: str) -> list[str]:
        """The model's raw answers, one per text, in order (the backend's own work)."""
        raise NotImplementedError

    def translate_raw(self, texts: Sequence[str], src: str, tgt: str) -> list[str]:
        """Raw answers (what the cache stores); an empty source gets "" without asking the model.
        Refuses a few-shot dev set that holds one of the texts (a test segment)."""
        self.prompt.check_not_test(texts, src, tgt)
        todo = [i for i, t in enumerate(texts) if t.strip()]
        answers = self.answer([texts[i] for i in todo], src, tgt) if todo else []
        if len(answers) != len(todo):
            raise MtharnessError(f"translator {self.name!r}: {len(answers)} answers for {len(todo)} prompts")
        out = [""] * len(texts)
        for i, text in zip(todo, answers, strict=True):
            out[i] = text
        return out

    def translate(self, texts: Sequence[str], src: str, tgt: str) -> list[str]:
        return self.finish(texts, self.translate_raw(texts, src, tgt), src, tgt)

    def finish(self, texts: Sequence[str], raws: Sequence[str], src: str, tgt: str) -> list[str]:
        """Cleaned outputs for raw answers (noted for output_notes); an empty source stays empty."""
        pair = f"{src}-{tgt}"
        out = []
        for text, raw in zip(texts, raws, strict=True):
            if self.cleanup:
                level = (
                    "\n" not in text.strip() if self.sentence_level == "auto" else bool(self.sentence_level)
                )
                result = llm_cleanup.clean(raw, level, source=text)
            else:
                result = llm_cleanup.Cleaned(raw.strip())
            self._notes[(pair, text)] = (raw, result)
            out.append(result.text)
        return out

    def prompt_hash(self, src: str, tgt: str) -> str:
        pair = f"{src}-{tgt}"
        if pair not in self._hashes:
            self._hashes[pair] = self.prompt.template_hash(src, tgt)
        return self._hashes[pair]

    def direction_identity(self, src: str, tgt: str) -> dict[str, Any]:
        """What decides the outputs of one direction beyond identity(): the rendered prompt."""
        return {"prompt": {"name": self.prompt.name, "hash": self.prompt_hash(src, tgt)}}

    def llm_identity(self) -> dict[str, Any]:
        """The prompt settings and cleanup rules, for a subclass's identity()."""
        prompt = {"name": self.prompt.name, "k": self.prompt.k}
        if self.prompt.k:
            prompt["seed"] = self.prompt.seed
        return {
            "prompt": prompt,
            "cleanup": {
                "enabled": self.cleanup,
                "version": llm_cleanup.CLEANUP_VERSION,
                "sentence_level": self.sentence_level,
            },
        }

    def output_notes(
        self, texts: Sequence[str], src: str, tgt: str
    ) -> tuple[dict[str, list[Any]], dict[str, Any]]:
        """Per-segment raw outputs and cleanup flags, and the direction's cleanup counts."""
        pair = f"{src}-{tgt}"
        notes = [self._notes.get((pair, t)) for t in texts]
        raws = [n[0] if n else None for n in notes]
        flags = [n[1].flags() if n else None for n in notes]
        summary: dict[str, Any] = {**llm_cleanup.counts(n[1] for n in notes if n), "enabled": self.cleanup}
        return {"raw": raws, "cleanup": flags}, {"llm_cleanup": summary}

    def run_info(self) -> dict[str, Any]:
        return {"prompt": {"name": self.prompt.name, "hash": dict(sorted(self._hashes.items()))}}
