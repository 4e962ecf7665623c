"""sacrebleu's BLEU, chrF and chrF++ statistics, counted by compiled code: the same rows, faster.

sacrebleu builds a Python ``Counter`` of n-grams (tuples of words, substrings of characters) per
hypothesis and per reference and intersects them in Python loops; with its tokenizer that is all of
the time of a BLEU or chrF job. Here the text is still prepared by sacrebleu's own code (the
metric's lowercasing and tokenizer object, chrF's whitespace removal as sacrebleu does it, chrF++'s
punctuation splitting), then turned into integers: characters are their code points, words get ids
from one dictionary, so equal n-grams are equal integer sequences. A chunk of segments, for every
system at once, is counted in one call of :func:`mtharness.scoring._ngram_kernels.ngram_matches`,
which packs each n-gram into one 63-bit integer exactly (no hashing) and counts by sorting.

The rows are sacrebleu's, value for value (Python ints, same layout): BLEU's
``[hyp_len, closest ref_len, matches..., totals...]`` with matches clipped by the largest count over
the references; chrF's ``[hyp, ref, match]`` per order against the reference with the best F-score
(sacrebleu's own F-score function decides, first best wins). A segment whose n-grams do not fit 63
bits, or that has no reference, is left to sacrebleu's code (``one_segment_statistics``).

numba is optional; without it, or with ``MTHARNESS_FAST_NGRAM=0``, callers use sacrebleu's code.
"""

from __future__ import annotations

import importlib.util
import itertools
import logging
import os
from collections import defaultdict
from collections.abc import Sequence
from functools import cache
from typing import Any

import numpy as np
from sacrebleu.metrics import BLEU, CHRF
from sacrebleu.metrics.base import Metric

from mtharness.scoring import sacrebleu_api
from mtharness.scoring.sacrebleu_api import SufStats

log = logging.getLogger(__name__)


# numba's import and loading its cached machine code cost ~0.3-0.6 s once per process; below this
# many hypothesis characters (all systems, one metric) sacrebleu's own code finishes sooner
MIN_FAST_CHARS = 200_000


def available() -> bool:
    """numba is installed and ``MTHARNESS_FAST_NGRAM`` is not set to 0."""
    if os.environ.get("MTHARNESS_FAST_NGRAM", "1").strip().lower() in {"0", "false", "no", "off"}:
        return False
    return importlib.util.find_spec("numba") is not None


def applies(metric: Metric) -> bool:
    """This module computes the metric's statistics (BLEU, chrF, chrF++)."""
    return isinstance(metric, BLEU | CHRF)


def work(systems: Sequence[Sequence[str]]) -> int:
    """The work estimate :data:`MIN_FAST_CHARS` is compared with: hypothesis characters."""
    return sum(len(h) for hyps in systems for h in hyps)


def worth_it(work_units: int) -> bool:
    """The compiled path repays numba's start-up for this much work (see :func:`work`) and works.

    Compiles (or loads numba's cached code) on first use, in this process, so that a pool forked
    afterwards inherits it.
    """
    return work_units >= MIN_FAST_CHARS and available() and compiled()


@cache
def compiled() -> bool:
    """The kernel compiles and runs here; if not (a broken numba), say so once and use sacrebleu's."""
    try:
        statistics(BLEU(), [["a b"]], [["a c"]])
        statistics(CHRF(word_order=2), [["a b"]], [["a c"]])
    except Exception as exc:  # any failure of numba/llvmlite leaves sacrebleu's code
        log.warning(
            "compiled n-gram counting unavailable (%s: %s); using sacrebleu's", type(exc).__name__, exc
        )
        return False
    return True


@cache
def _kernels() -> Any:
    from mtharness.scoring import _ngram_kernels

    return _ngram_kernels


def max_base(order: int) -> int:
    """The largest b with b**order < 2**63: n-grams over b-1 distinct symbols pack exactly."""
    if order <= 0:
        return 2**62
    b = round((2**63 - 1) ** (1 / order))
    while b**order > 2**63 - 1:
        b -= 1
    while (b + 1) ** order <= 2**63 - 1:
        b += 1
    return b


def _offsets(lengths: Sequence[int]) -> np.ndarray:
    off = np.zeros(len(lengths) + 1, np.int64)
    np.cumsum(lengths, out=off[1:])
    return off


def _encode_chars(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    # code points of every text, one array; surrogatepass keeps lone surrogates (valid str content)
    raw = "".join(texts).encode("utf-32-le", "surrogatepass")
    return np.frombuffer(raw, dtype="<u4").astype(np.int64), _offsets([len(t) for t in texts])


def _encode_words(
    tokens: Sequence[Sequence[str]], vocab: defaultdict[str, int]
) -> tuple[np.ndarray, np.ndarray]:
    flat = list(itertools.chain.from_iterable(tokens))
    ids = np.fromiter(map(vocab.__getitem__, flat), dtype=np.int64, count=len(flat))
    return ids, _offsets([len(t) for t in tokens])


def _matches(
    hyps: Sequence[Sequence[Any]],
    refs: Sequence[Sequence[Any]],
    seg_refs: np.ndarray,
    order: int,
    bleu: bool,
    chars: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(clipped matches per row and order, skipped segments, hypothesis lengths, reference lengths)."""
    if chars:
        h_ids, h_off = _encode_chars(hyps)  # type: ignore[arg-type]
        r_ids, r_off = _encode_chars(refs)  # type: ignore[arg-type]
        n_symbols = 1 + max((int(a.max()) for a in (h_ids, r_ids) if a.size), default=0)
    else:
        vocab: defaultdict[str, int] = defaultdict(itertools.count().__next__)
        r_ids, r_off = _encode_words(refs, vocab)
        h_ids, h_off = _encode_words(hyps, vocab)
        n_symbols = max(len(vocab), 1)
    n_seg = len(seg_refs) - 1
    rows = len(hyps) if bleu else len(hyps) // max(n_seg, 1) * len(refs)
    if order <= 0:
        out, skip = np.zeros((rows, 0), np.int64), np.zeros(n_seg, np.bool_)
    else:
        out, skip = _kernels().ngram_matches(
            h_ids, h_off, r_ids, r_off, seg_refs, n_symbols, order, max_base(order), bleu
        )
    return out, skip, np.diff(h_off), np.diff(r_off)


def _totals(lengths: np.ndarray, order: int) -> np.ndarray:
    """n-grams of each order in sequences of these lengths: max(0, length - n + 1), n = 1..order."""
    return np.maximum(lengths[:, None] - np.arange(order)[None, :], 0)


def _layout(refs: Sequence[Sequence[str | None]], n: int) -> tuple[list[list[str]], np.ndarray]:
    per_seg = (
        [[r for r in seg if r is not None] for seg in zip(*refs, strict=True)]
        if refs
        else [[] for _ in range(n)]
    )
    return per_seg, _offsets([len(x) for x in per_seg])


def _closest(hyp_len: int, ref_lens: list[int]) -> int:
    """BLEU's reference length: the closest to the hypothesis's, the shorter on a tie (sacrebleu's rule)."""
    return min(ref_lens, key=lambda r: (abs(hyp_len - r), r))


def _bleu(
    metric: BLEU, systems: Sequence[Sequence[str]], per_seg: list[list[str]], seg_refs: np.ndarray
) -> list[SufStats]:
    order = metric.max_ngram_order
    refs = [sacrebleu_api.preprocess(metric, r).split() for seg in per_seg for r in seg]
    hyps = [sacrebleu_api.preprocess(metric, h).split() for hyps in systems for h in hyps]
    matches, skip, h_len, r_len = _matches(hyps, refs, seg_refs, order, True, False)
    n = len(per_seg)
    n_refs = np.diff(seg_refs)
    closest = np.zeros(len(hyps), np.int64)
    single = n_refs == 1
    for k in range(len(systems)):
        seg_len = closest[k * n : (k + 1) * n]
        seg_len[single] = r_len[seg_refs[:-1][single]]
        for s in np.flatnonzero(n_refs > 1):  # sacrebleu: smallest |diff|, then the shorter ref
            seg_len[s] = _closest(int(h_len[k * n + s]), r_len[seg_refs[s] : seg_refs[s + 1]].tolist())
    table = np.concatenate([h_len[:, None], closest[:, None], matches, _totals(h_len, order)], axis=1)
    out = [table[k * n : (k + 1) * n].tolist() for k in range(len(systems))]
    _fall_back(metric, systems, per_seg, out, skip | (n_refs == 0))
    return out


def _chrf(
    metric: CHRF, systems: Sequence[Sequence[str]], per_seg: list[list[str]], seg_refs: np.ndarray
) -> list[SufStats]:
    prep = [[sacrebleu_api.preprocess(metric, r) for r in seg] for seg in per_seg]
    hyps = [sacrebleu_api.preprocess(metric, h) for hyps in systems for h in hyps]
    flat_refs = [r for seg in prep for r in seg]

    def chars(texts: list[str]) -> list[str]:  # sacrebleu's extract_all_char_ngrams' whitespace rule
        return texts if metric.whitespace else ["".join(t.split()) for t in texts]

    parts = [_matches(chars(hyps), chars(flat_refs), seg_refs, metric.char_order, False, True)]
    if metric.word_order > 0:
        h_words = [sacrebleu_api.chrf_words(metric, t) for t in hyps]
        r_words = [sacrebleu_api.chrf_words(metric, t) for t in flat_refs]
        parts.append(_matches(h_words, r_words, seg_refs, metric.word_order, False, False))
    n, n_sys, n_refs = len(per_seg), len(systems), len(flat_refs)
    ref_seg = np.repeat(np.arange(n), np.diff(seg_refs))  # the segment of each reference
    blocks, skip = [], np.diff(seg_refs) == 0
    for (matches, sk, h_len, r_len), order in zip(
        parts, (metric.char_order, metric.word_order), strict=False
    ):
        skip |= sk
        r_tot = _totals(r_len, order)  # (refs, order)
        h_tot = _totals(h_len, order).reshape(n_sys, n, order)[:, ref_seg, :]  # (systems, refs, order)
        h_tot = np.where(r_tot[None] > 0, h_tot, 0)  # sacrebleu: no hits counted against no ref n-grams
        m = matches.reshape(n_sys, n_refs, order)
        blocks.append(
            np.stack([h_tot, np.broadcast_to(r_tot, h_tot.shape), m], axis=-1).reshape(n_sys, n_refs, -1)
        )
    table = np.concatenate(blocks, axis=-1)
    one_each = bool(np.all(np.diff(seg_refs) == 1))
    out: list[SufStats] = []
    for k in range(n_sys):
        rows = table[k].tolist()
        if one_each:  # one reference per segment: nothing to choose
            out.append(rows)
            continue
        picked = []
        for s in range(n):
            best: list[Any] = []
            best_f = -1.0
            for row in rows[seg_refs[s] : seg_refs[s + 1]]:
                f = sacrebleu_api.chrf_f_score(metric, row)
                if f > best_f:
                    best, best_f = row, f
            picked.append(best)
        out.append(picked)
    _fall_back(metric, systems, per_seg, out, skip)
    return out


def _fall_back(
    metric: Metric,
    systems: Sequence[Sequence[str]],
    per_seg: list[list[str]],
    out: list[SufStats],
    skip: np.ndarray,
) -> None:
    for s in np.flatnonzero(skip).tolist():
        for k, hyps in enumerate(systems):
            out[k][s] = sacrebleu_api.one_segment_statistics(metric, hyps[s], per_seg[s])


def statistics(
    metric: Metric, systems: Sequence[Sequence[str]], refs: Sequence[Sequence[str | None]]
) -> list[SufStats]:
    """[system] -> sacrebleu's per-segment statistics of BLEU or chrF(++) against ``refs`` (sacrebleu's
    layout: one list per reference stream, None where a segment lacks that reference)."""
    n = len(refs[0]) if refs else (len(systems[0]) if systems else 0)
    per_seg, seg_refs = _layout(refs, n)
    if isinstance(metric, BLEU):
        return _bleu(metric, systems, per_seg, seg_refs)
    if isinstance(metric, CHRF):
        return _chrf(metric, systems, per_seg, seg_refs)
    raise TypeError(f"fastngram counts BLEU and chrF statistics, not {type(metric).__name__}")
