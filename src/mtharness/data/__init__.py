"""Test sets: loaders that each return a ``Dataset`` (configs under configs/dataset/ name them by _target_)."""

from mtharness.data.documents import load_document, load_sample_article, read_paragraphs, split_paragraphs
from mtharness.data.loaders import (
    SAMPLE_DIR,
    from_columns,
    load_files,
    load_hf,
    load_jsonl,
    load_sample,
    load_tsv,
    load_wmt,
    wmt_pair,
    wmt_systems,
)

__all__ = [
    "SAMPLE_DIR",
    "from_columns",
    "load_document",
    "load_files",
    "load_hf",
    "load_jsonl",
    "load_sample",
    "load_sample_article",
    "load_tsv",
    "load_wmt",
    "read_paragraphs",
    "split_paragraphs",
    "wmt_pair",
    "wmt_systems",
]
