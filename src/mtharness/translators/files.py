"""Precomputed translations read from files (e.g. WMT system outputs), with an optional fallback.

``files`` maps a pair (``en-de``) to a source file and an output file, line-aligned; a text is
translated by finding its line in the source file. Pairs not listed go to ``fallback`` (another
Translator), so a WMT system's forward outputs can be round-tripped through a real back-translator.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mtharness.core import MtharnessError
from mtharness.textio import check_same_length, read_lines
from mtharness.translators.base import Translator


class FilesTranslator:
    def __init__(
        self,
        name: str = "files",
        files: Mapping[str, Mapping[str, str]] | None = None,
        fallback: Translator | None = None,
    ) -> None:
        self.name = name
        self.files = {pair: dict(spec) for pair, spec in (files or {}).items()}
        self.fallback = fallback
        self._tables: dict[str, dict[str, str]] = {}

    def _table(self, pair: str) -> dict[str, str]:
        if pair not in self._tables:
            spec = self.files[pair]
            if "source" not in spec or "output" not in spec:
                raise MtharnessError(
                    f"translator.files.{pair}: needs keys 'source' and 'output' (file paths)"
                )
            sources = read_lines(spec["source"], "source file")
            outputs = read_lines(spec["output"], "translation file")
            check_same_length(sources, spec["source"], outputs, spec["output"])
            self._tables[pair] = dict(zip(sources, outputs, strict=True))
        return self._tables[pair]

    def translate(self, texts: Sequence[str], src: str, tgt: str) -> list[str]:
        pair = f"{src}-{tgt}"
        if pair not in self.files:
            if self.fallback is None:
                raise MtharnessError(
                    f"translator {self.name!r}: no files for {pair} (have {sorted(self.files)}) and no fallback"
                )
            return self.fallback.translate(texts, src, tgt)
        table = self._table(pair)
        missing = [t for t in texts if t not in table]
        if missing:
            raise MtharnessError(
                f"translator {self.name!r}: {len(missing)} text(s) not in {self.files[pair]['source']} "
                f"(first: {missing[0][:60]!r}); the files must cover the dataset's sources"
            )
        return [table[t] for t in texts]

    def identity(self) -> dict[str, Any]:
        back = None
        if self.fallback is not None:
            back = {"name": self.fallback.name, **self.fallback.identity()}
        return {"backend": "files", "files": self.files, "fallback": back}
