"""Document mode input: articles as paragraphs (blank-line separated), one segment per paragraph."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mtharness.core import Dataset, LanguagePair, MtharnessError
from mtharness.textio import read_text

LAYOUTS = ("auto", "blank", "lines")


def split_paragraphs(text: str, layout: str = "blank") -> list[str]:
    """Split a document into paragraphs.

    ``blank``: paragraphs are separated by blank lines; lines inside one are joined by a space.
    ``lines``: one paragraph per line (a run's hyp/rt files, sacrebleu-style line-aligned files).
    ``auto``: ``blank`` when the text has a blank line between two non-blank ones, else ``lines``.
    """
    if layout not in LAYOUTS:
        raise MtharnessError(f"paragraph layout {layout!r}: choose from {', '.join(LAYOUTS)}")
    lines = text.split("\n")
    if layout == "auto":
        inner = [line.strip() for line in text.strip().split("\n")]
        layout = "blank" if "" in inner else "lines"
    if layout == "lines":
        return [line.strip() for line in lines if line.strip()]
    paragraphs, current = [], []
    for line in lines:
        if line.strip():
            current.append(line.strip())
        elif current:
            paragraphs.append(" ".join(current))
            current = []
    if current:
        paragraphs.append(" ".join(current))
    return paragraphs


def read_paragraphs(path: str | Path, what: str = "document", layout: str = "blank") -> list[str]:
    paragraphs = split_paragraphs(read_text(path, what), layout)
    if not paragraphs:
        raise MtharnessError(f"{what} {path}: no paragraphs (it is empty or blank)")
    return paragraphs


def load_document(
    path: str,
    src_lang: str = "en",
    tgt_lang: str = "es",
    refs: Sequence[str] = (),
    name: str | None = None,
    **_: Any,
) -> Dataset:
    """An article (paragraphs separated by blank lines) as a dataset: one segment per paragraph."""
    from mtharness.data.loaders import from_columns

    sources = read_paragraphs(path, "document")
    references = []
    for ref in refs or ():
        ref_paras = read_paragraphs(ref, "reference document")
        if len(ref_paras) != len(sources):
            raise MtharnessError(
                f"reference document {ref}: {len(ref_paras)} paragraphs but {path} has {len(sources)}; "
                "align them first (mtharness align)"
            )
        references.append(ref_paras)
    doc_id = Path(path).stem
    return from_columns(
        name or doc_id,
        LanguagePair(src_lang, tgt_lang),
        sources,
        references,
        ids=[f"{doc_id}:p{i}" for i in range(1, len(sources) + 1)],
        doc_ids=[doc_id] * len(sources),
        origin=str(path),
    )


def load_sample_article(src_lang: str = "en", tgt_lang: str = "es", **_: Any) -> Dataset:
    """The bundled English article (our own text, 8 paragraphs)."""
    from mtharness.data.loaders import SAMPLE_DIR

    return load_document(str(SAMPLE_DIR / "article.en"), src_lang, tgt_lang, name="article")
