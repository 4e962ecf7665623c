"""Parallel resampling and extraction give exactly what the serial paths give (issue 28)."""

from __future__ import annotations

import numpy as np
import pytest
from sacrebleu.metrics import BLEU, CHRF, TER
from sacrebleu.metrics.base import Metric

from mtharness.scoring import sufstats
from mtharness.scoring.metrics import MetricSpec, SystemStats, system_statistics
from mtharness.scoring.resample import prefetch
from mtharness.scoring.significance import bootstrap_indices, bootstrap_scores, resample_weights
from mtharness.scoring.sufstats import extract_statistics

REFS = [[f"the cat number {i} sat on mat {i % 7} today" for i in range(300)]]
SYSTEMS = {
    "a": [f"the cat number {i} sat on the mat {i % 5}" for i in range(300)],
    "b": [f"a cat {i} is sitting on mat {i % 7} today" for i in range(300)],
    "c": [f"cat number {i % 11} on mat" for i in range(300)],
}


def test_weights_count_the_drawn_indices() -> None:
    idx = bootstrap_indices(300, 50, seed=3)
    want = np.stack([np.bincount(row, minlength=300) for row in idx])
    assert np.array_equal(resample_weights(300, 50, seed=3), want)


def _stats(workers: int) -> list[dict[str, SystemStats]]:
    return system_statistics(
        [MetricSpec("bleu"), MetricSpec("chrf"), MetricSpec("ter")], SYSTEMS, REFS, "en", workers
    )


def test_parallel_resamples_equal_serial() -> None:
    serial = _stats(1)
    for per in serial:
        for st in per.values():
            bootstrap_scores(st, 200, seed=5)
    parallel = _stats(1)
    prefetch([st for per in parallel for st in per.values()], 200, seed=5, workers=2)
    for s_per, p_per in zip(serial, parallel, strict=True):
        for name in SYSTEMS:
            got = p_per[name].resampled[("bs", 200, 5)]
            assert np.array_equal(got, s_per[name].resampled[("bs", 200, 5)]), name


def test_parallel_extraction_equals_serial() -> None:
    def fresh() -> list[Metric]:
        return [BLEU(), CHRF(word_order=2), TER()]

    hyps = list(SYSTEMS.values())
    assert extract_statistics(fresh(), hyps, REFS, workers=2) == extract_statistics(
        fresh(), hyps, REFS, workers=1
    )


def test_bounded_chunks_equal_one_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    """Long corpora are extracted in chunks of MAX_CHUNK_SEGMENTS (memory); the rows do not change."""
    hyps = list(SYSTEMS.values())
    whole = [m._extract_corpus_statistics(h, REFS) for m in (BLEU(), TER()) for h in hyps]
    monkeypatch.setattr(sufstats, "MAX_CHUNK_SEGMENTS", 7)
    for workers in (1, 2):
        got = extract_statistics([BLEU(), TER()], hyps, REFS, workers=workers)
        assert [rows for per_metric in got for rows in per_metric] == whole, workers
