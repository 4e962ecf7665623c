"""sacrebleu's TER edit search, compiled with numba: the same numbers, many times faster.

sacrebleu computes TER (``sacrebleu.metrics.lib_ter``) in pure Python: a greedy search over word
shifts, each candidate scored by a beam-limited edit distance. On real text that search is most of
the time of any BLEU + chrF + TER scoring job. This module follows the same algorithm step for step
(same beam, same shift limits, same candidate order and tie-breaking, same 1000-candidate cut-off,
including its quirks) on integer word ids, so the edit counts are equal to sacrebleu's, not close.
Tests compare the two on WMT23 systems and on random word sequences built to force many shifts.

Where sacrebleu reuses edit-distance rows through a prefix trie, we reuse the rows of the
hypothesis being shifted: a shifted candidate shares its first ``min(start, target)`` words with
it, so only the rows after that are computed. Every hypothesis in one search has the same length,
hence the same beam geometry, so a reused row is the row sacrebleu would compute.

numba is optional (``pip install 'mtharness[fast]'``); without it, or with ``MTHARNESS_FAST_TER=0``,
:func:`segment_statistics` falls back to sacrebleu's own code. Importing numba costs ~0.5 s, so
callers use the compiled path only for jobs big enough to repay it (:func:`worth_it`).
"""

from __future__ import annotations

import importlib.util
import logging
import os
from collections.abc import Sequence
from functools import cache
from typing import Any

import numpy as np
from sacrebleu.metrics import TER

from mtharness.scoring import sacrebleu_api

log = logging.getLogger(__name__)

# sacrebleu.metrics.lib_ter's constants (Tercom's limits and sacrebleu's own)
MAX_SHIFT_SIZE = 10
MAX_SHIFT_DIST = 50
BEAM_WIDTH = 25
MAX_SHIFT_CANDIDATES = 1000
INF = 10**16

# edit operations in the dynamic-programming table (sacrebleu: ' ', 's', 'i', 'd', 'x')
_NOP, _SUB, _INS, _DEL, _UNDEF = 0, 1, 2, 3, 4

# The compiled path pays ~0.5 s to import numba and load its cached machine code, so it is used
# only where sacrebleu would take longer. sacrebleu's search grows faster than quadratically with
# segment length (16-word pairs ~1.5 ms each, 25-word ~50 ms, 80-word seconds on the 2-core dev
# box), so the work estimate is the sum of squared hypothesis lengths: the 150-sentence sample
# (~45k) stays on sacrebleu, 20 WMT23 paragraphs x 4 systems (~800k) take the compiled path.
MIN_FAST_WORK = 100_000


def available() -> bool:
    """numba is installed and ``MTHARNESS_FAST_TER`` is not set to 0."""
    if os.environ.get("MTHARNESS_FAST_TER", "1").strip().lower() in {"0", "false", "no", "off"}:
        return False
    return importlib.util.find_spec("numba") is not None


def work(hypotheses: Sequence[str]) -> int:
    """The work estimate :data:`MIN_FAST_WORK` is compared with: sum of squared word counts."""
    return sum((h.count(" ") + 1) ** 2 for h in hypotheses)


def worth_it(work_units: int) -> bool:
    """The compiled path repays numba's start-up for this much work (see :func:`work`) and works.

    Compiles (or loads numba's cached code) on first use, in this process: a pool forked
    afterwards inherits it instead of compiling in every worker.
    """
    return work_units >= MIN_FAST_WORK and available() and compiled()


@cache
def compiled() -> bool:
    """The kernels compile and run here; if not (a broken numba), say so once and use sacrebleu's."""
    try:
        _kernels().ter_edits(np.array([0, 1, 2], dtype=np.int32), np.array([2, 1, 0], dtype=np.int32))
    except Exception as exc:  # any failure of numba/llvmlite leaves sacrebleu's code
        log.warning("compiled TER unavailable (%s: %s); using sacrebleu's TER", type(exc).__name__, exc)
        return False
    return True


def _encode(words_hyp: Sequence[str], words_ref: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    ids: dict[str, int] = {}
    h = np.array([ids.setdefault(w, len(ids)) for w in words_hyp], dtype=np.int32)
    r = np.array([ids.setdefault(w, len(ids)) for w in words_ref], dtype=np.int32)
    return h, r


def translation_edit_rate(words_hyp: Sequence[str], words_ref: Sequence[str]) -> tuple[int, int]:
    """(number of edits, reference length), equal to ``sacrebleu.metrics.lib_ter.translation_edit_rate``."""
    if not words_ref:
        return len(words_hyp), 0
    h, r = _encode(words_hyp, words_ref)
    return int(_kernels().ter_edits(h, r)), len(words_ref)


def segment_statistics(metric: TER, hypotheses: Sequence[str]) -> list[list[Any]]:
    """sacrebleu's per-segment TER statistics, with the compiled edit search.

    The metric's references must be cached (``sacrebleu_api.set_references``), as sufstats does.
    Each row is sacrebleu's: [fewest edits over the references, mean reference length].
    """
    cached = sacrebleu_api.ter_reference_words(metric)
    if len(cached) != len(hypotheses):
        raise ValueError(f"{len(hypotheses)} hypotheses for {len(cached)} cached references")
    sufstats: list[list[Any]] = []
    for hyp, ref_words in zip(hypotheses, cached, strict=True):
        words_hyp = sacrebleu_api.ter_words(metric, hyp)
        best, ref_lengths = INF, 0
        for words_ref in ref_words:
            edits, ref_len = translation_edit_rate(words_hyp, words_ref)
            ref_lengths += ref_len
            best = min(best, edits)
        sufstats.append([best, ref_lengths / len(ref_words)])
    return sufstats


@cache
def _kernels() -> Any:
    """Compile the kernels on first use (numba's on-disk cache makes later processes fast)."""
    from mtharness.scoring import _ter_kernels

    return _ter_kernels
