"""numba kernels for :mod:`mtharness.scoring.fastngram` (imported only when the compiled path is used).

Inputs are whole chunks at once: every system's hypotheses and every reference as integer symbols
(characters as code points, words as ids; equal strings, equal ids), flattened, with offsets. Per
segment the symbols of its references get dense local ids 1..D and any hypothesis symbol absent from
them gets 0: an n-gram holding a 0 matches nothing, but still counts in the hypothesis total. An
n-gram of order n is then the number ``sum(id_i * (D+1)**(n-1-i))``, exact while ``(D+1)**n`` fits
in 63 bits (the caller passes that limit; segments over it are flagged and left to sacrebleu's code).
With every digit >= 1, keys of different orders never coincide, so one open-addressing table per
reference group holds all orders: the reference count of each n-gram (the largest over the group's
references), and a hypothesis count that is filled, summed as sum(min(hyp count, ref count)) (the
clipped matches of sacrebleu's Counter loops) and reset per hypothesis and order.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def _local_ids(
    ids: np.ndarray, r_off: np.ndarray, r_lo: int, r_hi: int, stamp: np.ndarray, local: np.ndarray, tag: int
) -> int:
    # dense ids 1..D for the symbols of references r_lo..r_hi-1; stamp says which are set this segment
    d = 0
    for i in range(r_off[r_lo], r_off[r_hi]):
        s = ids[i]
        if stamp[s] != tag:
            stamp[s] = tag
            d += 1
            local[s] = d
    return d


_MULT = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing: the top bits of key * 2**64/phi


@njit(cache=True)
def _slot(tkeys: np.ndarray, key: int, shift: np.uint64, mask: int, insert: bool) -> int:
    """The table slot of ``key`` (linear probing); -1 when absent and not inserting."""
    i = np.int64((np.uint64(key) * _MULT) >> shift)
    while True:
        k = tkeys[i]
        if k == key:
            return int(i)
        if k == -1:
            if insert:
                tkeys[i] = key
                return int(i)
            return -1
        i = (i + 1) & mask


@njit(cache=True)
def _next_order(cur: np.ndarray, seq: np.ndarray, n: int, base: int) -> int:
    """Turn the keys of (n-1)-grams in ``cur`` into those of n-grams (-1: holds an absent symbol)."""
    m = seq.size - n + 1
    if n == 1:
        for i in range(m):
            cur[i] = seq[i] if seq[i] > 0 else -1
    else:
        for i in range(m):
            v = seq[i + n - 1]
            cur[i] = cur[i] * base + v if cur[i] >= 0 and v > 0 else -1
    return max(m, 0)


@njit(cache=True)
def _local_seq(
    ids: np.ndarray, lo: int, hi: int, stamp: np.ndarray, local: np.ndarray, tag: int
) -> np.ndarray:
    seq = np.empty(hi - lo, np.int64)
    for i in range(hi - lo):
        s = ids[lo + i]
        seq[i] = local[s] if stamp[s] == tag else 0
    return seq


@njit(cache=True)
def ngram_matches(
    h_ids: np.ndarray,
    h_off: np.ndarray,
    r_ids: np.ndarray,
    r_off: np.ndarray,
    seg_refs: np.ndarray,
    n_symbols: int,
    order: int,
    max_base: int,
    bleu: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """Clipped matches per order for every system's hypotheses against their segment's references.

    Segment s has references seg_refs[s]..seg_refs[s+1]-1 (rows of r_off); hypothesis k*S+s of
    h_off is system k's. With ``bleu`` a match is clipped by the largest count over the references
    (one value per hypothesis and order: out[k*S+s, n-1]); otherwise per reference (chrF picks the
    best reference later: out[k*R+r, n-1], R references in all). ``skip[s]`` marks segments whose
    n-grams do not fit 63 bits (their rows are left 0).
    """
    n_seg = seg_refs.size - 1
    n_refs = seg_refs[n_seg]
    n_sys = (h_off.size - 1) // max(n_seg, 1)
    out = np.zeros((n_sys * n_seg if bleu else n_sys * n_refs, order), np.int64)
    skip = np.zeros(n_seg, np.bool_)
    stamp = np.full(n_symbols, -1, np.int64)
    local = np.zeros(n_symbols, np.int64)
    for s in range(n_seg):
        r_lo, r_hi = seg_refs[s], seg_refs[s + 1]
        d = _local_ids(r_ids, r_off, r_lo, r_hi, stamp, local, s)
        if d + 1 > max_base:
            skip[s] = True
            continue
        base = d + 1
        groups = 1 if bleu else r_hi - r_lo
        for g in range(groups):
            g_lo, g_hi = (r_lo, r_hi) if bleu else (r_lo + g, r_lo + g + 1)
            longest = 1
            for r in range(g_lo, g_hi):
                longest = max(longest, r_off[r + 1] - r_off[r])
            bits = 1
            while (1 << bits) < 2 * longest * order * (g_hi - g_lo) + 2:
                bits += 1
            mask = (1 << bits) - 1
            shift = np.uint64(64 - bits)
            tkeys = np.full(1 << bits, -1, np.int64)
            tref = np.zeros(1 << bits, np.int64)
            tcount = np.zeros(1 << bits, np.int64)
            touched = np.empty(longest * order + 1, np.int64)
            cur = np.empty(longest, np.int64)
            for r in range(g_lo, g_hi):  # reference counts: the largest over the group's references
                seq = _local_seq(r_ids, r_off[r], r_off[r + 1], stamp, local, s)
                t = 0
                for n in range(1, order + 1):
                    for i in range(_next_order(cur, seq, n, base)):
                        j = _slot(tkeys, cur[i], shift, mask, True)
                        tcount[j] += 1
                        if tcount[j] == 1:
                            touched[t] = j
                            t += 1
                for i in range(t):
                    j = touched[i]
                    tref[j] = max(tref[j], tcount[j])
                    tcount[j] = 0
            for k in range(n_sys):
                h = k * n_seg + s
                seq = _local_seq(h_ids, h_off[h], h_off[h + 1], stamp, local, s)
                hcur = np.empty(max(seq.size, 1), np.int64)
                hits = np.empty(max(seq.size, 1), np.int64)
                row = h if bleu else k * n_refs + g_lo
                for n in range(1, order + 1):
                    t = 0
                    for i in range(_next_order(hcur, seq, n, base)):
                        if hcur[i] < 0:
                            continue
                        j = _slot(tkeys, hcur[i], shift, mask, False)
                        if j >= 0:
                            tcount[j] += 1
                            if tcount[j] == 1:
                                hits[t] = j
                                t += 1
                    m = 0
                    for i in range(t):
                        j = hits[i]
                        m += min(tcount[j], tref[j])
                        tcount[j] = 0
                    out[row, n - 1] = m
    return out, skip
