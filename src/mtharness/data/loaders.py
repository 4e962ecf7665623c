"""Dataset loaders. Each returns a ``Dataset``; configs under configs/dataset/ call them by _target_."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from mtharness.core import Dataset, LanguagePair, MtharnessError, Segment
from mtharness.data.testsets import TestSet
from mtharness.data.testsets import resolve as resolve_testset
from mtharness.textio import check_same_length, read_jsonl, read_lines, read_text, split_lines

SAMPLE_DIR = Path(str(resources.files("mtharness.data") / "sample"))


def _clean(text: Any, where: str) -> str:
    if text is None:
        return ""
    if not isinstance(text, str):
        raise MtharnessError(f"{where}: expected a string, got {type(text).__name__}")
    # one segment per line in every file we write: an embedded newline would shift alignment
    return " ".join(text.replace("\r", "\n").split("\n")) if "\n" in text or "\r" in text else text


def _ref_names(refs: Sequence[str | Path], given: Sequence[str] | None) -> tuple[str, ...]:
    if given:
        if len(given) != len(refs):
            raise MtharnessError(f"ref_names has {len(given)} names for {len(refs)} reference files")
        return tuple(given)
    return tuple(chr(ord("A") + i) if i < 26 else f"ref{i}" for i in range(len(refs)))


def from_columns(
    name: str,
    pair: LanguagePair,
    sources: list[str],
    references: Sequence[list[str]] = (),
    ref_names: Sequence[str] | None = None,
    ids: Sequence[str] | None = None,
    doc_ids: Sequence[str | None] | None = None,
    origin: str = "",
) -> Dataset:
    """Build a Dataset from aligned columns (the shape every loader reduces to)."""
    names = _ref_names(list(range(len(references))), ref_names)  # type: ignore[arg-type]
    for refs in references:
        if len(refs) != len(sources):
            raise MtharnessError(f"dataset {name}: {len(sources)} sources but {len(refs)} references")
    seg_ids = list(ids) if ids is not None else [str(i) for i in range(1, len(sources) + 1)]
    docs = list(doc_ids) if doc_ids is not None else [None] * len(sources)
    segments = tuple(
        Segment(seg_ids[i], sources[i], tuple(r[i] for r in references), docs[i]) for i in range(len(sources))
    )
    if not segments:
        raise MtharnessError(f"dataset {name} ({origin}): no segments")
    return Dataset(name, pair, segments, names, origin)


def load_files(
    src: str,
    src_lang: str,
    tgt_lang: str,
    refs: Iterable[str] = (),
    ref_names: Sequence[str] | None = None,
    name: str = "files",
    **_: Any,
) -> Dataset:
    """Plain text: one source file and zero or more reference files, one segment per line."""
    sources = read_lines(src, "source file")
    references = []
    for ref in refs or ():
        lines = read_lines(ref, "reference file")
        check_same_length(sources, src, lines, ref)
        references.append(lines)
    names = _ref_names(list(refs or ()), ref_names)
    return from_columns(name, LanguagePair(src_lang, tgt_lang), sources, references, names, origin=str(src))


def _rows_tsv(path: str, delimiter: str) -> tuple[list[str], list[list[str]]]:
    text = read_text(path, "TSV file")
    if not text.strip():
        raise MtharnessError(f"TSV file {path}: file is empty")
    rows = list(csv.reader(split_lines(text), delimiter=delimiter, quoting=csv.QUOTE_NONE))
    return rows[0], rows[1:]


def load_tsv(
    path: str,
    src_lang: str,
    tgt_lang: str,
    src_column: str = "source",
    ref_columns: Sequence[str] = ("reference",),
    id_column: str | None = None,
    delimiter: str = "\t",
    name: str = "tsv",
    **_: Any,
) -> Dataset:
    """A delimited file with a header row; column names are configurable."""
    header, rows = _rows_tsv(path, delimiter)
    wanted = [src_column, *ref_columns] + ([id_column] if id_column else [])
    for col in wanted:
        if col not in header:
            raise MtharnessError(f"TSV file {path}: no column {col!r}; the header has {header}")
    idx = {c: header.index(c) for c in wanted}
    for n, row in enumerate(rows, 2):
        if len(row) != len(header):
            raise MtharnessError(
                f"TSV file {path}, line {n}: {len(row)} fields, the header has {len(header)}"
            )
    return from_columns(
        name,
        LanguagePair(src_lang, tgt_lang),
        [r[idx[src_column]] for r in rows],
        [[r[idx[c]] for r in rows] for c in ref_columns],
        list(ref_columns),
        [r[idx[id_column]] for r in rows] if id_column else None,
        origin=str(path),
    )


def load_jsonl(
    path: str,
    src_lang: str,
    tgt_lang: str,
    src_field: str = "source",
    ref_fields: Sequence[str] = ("reference",),
    id_field: str | None = None,
    name: str = "jsonl",
    **_: Any,
) -> Dataset:
    """One JSON object per line; field names are configurable."""
    records = read_jsonl(path, "JSONL file")
    for n, rec in enumerate(records, 1):
        for key in [src_field, *ref_fields]:
            if not isinstance(rec, dict) or key not in rec:
                raise MtharnessError(f"JSONL file {path}, record {n}: no field {key!r}")
    return from_columns(
        name,
        LanguagePair(src_lang, tgt_lang),
        [_clean(r[src_field], f"{path}: {src_field}") for r in records],
        [[_clean(r[f], f"{path}: {f}") for r in records] for f in ref_fields],
        list(ref_fields),
        [str(r[id_field]) for r in records] if id_field else None,
        origin=str(path),
    )


def wmt_pair(path: str | Path) -> LanguagePair:
    """A WMT/MTME folder is named after its pair, e.g. wmt23/en-de."""
    return LanguagePair.parse(Path(path).name)


def wmt_systems(path: str | Path, tgt_lang: str | None = None) -> dict[str, Path]:
    """System outputs in a WMT-style folder: systems/<NAME>.<tgt>, by name."""
    folder = Path(path)
    tgt = tgt_lang or wmt_pair(folder).tgt
    return {p.name[: -len(tgt) - 1]: p for p in sorted((folder / "systems").glob(f"*.{tgt}"))}


def load_wmt(
    path: str | None = None,
    src_lang: str | None = None,
    tgt_lang: str | None = None,
    refs: Sequence[str] | None = None,
    name: str | None = None,
    testset: str | None = None,
    pair: str | None = None,
    **_: Any,
) -> Dataset:
    """A WMT/MTME-style folder: src.<src>, ref.<NAME>.<tgt>, optional docids.tsv and systems/.

    Either ``path`` (the folder) or a named test set, ``testset`` + ``pair`` (e.g. wmt23, en-de),
    looked up in the data root and in sacrebleu's cache (``mtharness datasets`` lists them).
    """
    if path is None:
        if not testset or not pair:
            raise MtharnessError(
                "dataset: give dataset.path=FOLDER, or dataset.testset=NAME dataset.pair=SRC-TGT "
                "(`mtharness datasets` lists the named test sets on this machine)"
            )
        found = resolve_testset(testset, pair)
        if found.origin == "sacrebleu cache":
            return _load_cached_testset(found, refs, name)
        path, name = str(found.folder), name or f"{testset}-{pair}"
    folder = Path(path)
    if not folder.is_dir():
        raise MtharnessError(
            f"WMT folder {folder}: not a directory (expected e.g. ../shared/data/wmt23/en-de)"
        )
    lang_pair = wmt_pair(folder) if src_lang is None or tgt_lang is None else LanguagePair(src_lang, tgt_lang)
    src_file = folder / f"src.{lang_pair.src}"
    sources = read_lines(src_file, "source file")
    available = sorted(p.name.split(".")[1] for p in folder.glob(f"ref.*.{lang_pair.tgt}"))
    chosen = list(refs) if refs is not None else available
    references = []
    for ref in chosen:
        if ref not in available:
            raise MtharnessError(f"WMT folder {folder}: no reference {ref!r}; available: {available}")
        ref_file = folder / f"ref.{ref}.{lang_pair.tgt}"
        lines = read_lines(ref_file, "reference file")
        check_same_length(sources, src_file, lines, ref_file)
        references.append(lines)
    docs: list[str | None] | None = None
    doc_file = folder / "docids.tsv"
    if doc_file.exists():
        doc_lines = read_lines(doc_file, "document id file")
        check_same_length(sources, src_file, doc_lines, doc_file)
        docs = [line.split("\t")[-1] for line in doc_lines]
    label = name or f"{folder.parent.name}-{folder.name}"
    return from_columns(label, lang_pair, sources, references, chosen, doc_ids=docs, origin=str(folder))


def _load_cached_testset(found: TestSet, refs: Sequence[str] | None, name: str | None) -> Dataset:
    """A test set from sacrebleu's cache: its plain-text src/ref/docid files, as sacrebleu reads them."""
    chosen = list(refs) if refs is not None else list(found.references)
    missing = [r for r in chosen if r not in found.references]
    if missing:
        raise MtharnessError(
            f"test set {found.testset} {found.pair}: no reference {missing[0]!r}; "
            f"available: {list(found.references)}"
        )
    sources = read_lines(found.source, "source file")
    references = []
    for ref in chosen:
        lines = read_lines(found.references[ref], "reference file")
        check_same_length(sources, found.source, lines, found.references[ref])
        references.append(lines)
    docs: list[str | None] | None = None
    if found.docids is not None:
        doc_lines = read_lines(found.docids, "document id file")
        check_same_length(sources, found.source, doc_lines, found.docids)
        docs = list(doc_lines)
    return from_columns(
        name or f"{found.testset}-{found.pair}",
        LanguagePair.parse(found.pair),
        sources,
        references,
        chosen,
        doc_ids=docs,
        origin=str(found.source),
    )


def load_hf(
    path: str,
    src_lang: str,
    tgt_lang: str,
    split: str = "test",
    config_name: str | None = None,
    src_column: str | None = None,
    ref_columns: Sequence[str] | None = None,
    translation_column: str | None = "translation",
    revision: str | None = None,
    name: str = "hf",
    **_: Any,
) -> Dataset:
    """datasets.load_dataset on a local folder/file or hub name, with a column mapping.

    Either ``translation_column`` holds dicts keyed by language code (the WMT/opus layout on the hub),
    or ``src_column``/``ref_columns`` name plain text columns.
    """
    import datasets  # heavy: only when this loader is used

    try:
        ds = datasets.load_dataset(path, config_name, split=split, revision=revision)
    except Exception as exc:  # datasets raises many types; the message is what the user needs
        raise MtharnessError(
            f"dataset {path!r} (split {split!r}) could not be loaded: {str(exc).splitlines()[0][:200]}; "
            "offline, point dataset.path at a local folder or data file"
        ) from None
    if src_column:
        sources = [_clean(x, f"{path}:{src_column}") for x in ds[src_column]]
        refs = [[_clean(x, f"{path}:{c}") for x in ds[c]] for c in (ref_columns or [])]
        names = list(ref_columns or [])
    else:
        col = translation_column or "translation"
        if col not in ds.column_names:
            raise MtharnessError(f"dataset {path}: no column {col!r}; columns are {ds.column_names}")
        pairs = ds[col]
        sources = [_clean(p.get(src_lang), f"{path}:{col}.{src_lang}") for p in pairs]
        refs = [[_clean(p.get(tgt_lang), f"{path}:{col}.{tgt_lang}") for p in pairs]]
        names = ["A"]
    return from_columns(name, LanguagePair(src_lang, tgt_lang), sources, refs, names, origin=path)


def load_sample(src_lang: str = "en", tgt_lang: str = "es", with_refs: bool = True, **_: Any) -> Dataset:
    """The small English sample shipped in the package (our own text), with Spanish references."""
    src = SAMPLE_DIR / f"sample.{src_lang}"
    ref = SAMPLE_DIR / f"sample.{tgt_lang}"
    if not src.exists():
        raise MtharnessError(f"the bundled sample has no {src_lang} text; it is English (src_lang=en)")
    refs = [str(ref)] if with_refs and ref.exists() else []
    return load_files(str(src), src_lang, tgt_lang, refs, name="sample")
