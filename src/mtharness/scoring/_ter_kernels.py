"""numba kernels for :mod:`mtharness.scoring.fastter` (imported only when the compiled path is used).

Each function mirrors a piece of ``sacrebleu.metrics.lib_ter``; comments name the piece. Words are
integer ids (equal words, equal ids), so every comparison is the one sacrebleu makes on strings.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from mtharness.scoring.fastter import (
    _DEL,
    _INS,
    _NOP,
    _SUB,
    _UNDEF,
    BEAM_WIDTH,
    INF,
    MAX_SHIFT_CANDIDATES,
    MAX_SHIFT_DIST,
    MAX_SHIFT_SIZE,
)


@njit(cache=True)
def _geometry(n_hyp: int, n_ref: int) -> tuple[float, int]:
    # BeamEditDistance._edit_distance: pseudo-diagonal slope and beam width
    ratio = n_ref / n_hyp if n_hyp > 0 else 1.0
    if ratio / 2 > BEAM_WIDTH:  # sacrebleu: _BEAM_WIDTH < length_ratio / 2
        return ratio, math.ceil(ratio / 2 + BEAM_WIDTH)
    return ratio, BEAM_WIDTH


@njit(cache=True)
def _band(i: int, n_hyp: int, n_ref: int, ratio: float, beam: int) -> tuple[int, int]:
    # the columns row i computes; the last row always runs to the end
    diag = math.floor(i * ratio)
    lo = max(0, diag - beam)
    hi = min(n_ref + 1, diag + beam)
    if i == n_hyp:
        hi = n_ref + 1
    return lo, hi


@njit(cache=True)
def _cell(h_word: int, r: np.ndarray, j: int, up_left: int, up: int, left: int) -> tuple[int, int]:
    # one cell: Tercom's preference no-op/substitution, then deletion, then insertion (strict <)
    if h_word == r[j - 1]:
        cost, op = up_left, _NOP
    else:
        cost, op = up_left + 1, _SUB
    best, best_op = INF, _UNDEF
    if best > cost:
        best, best_op = cost, op
    if best > up + 1:
        best, best_op = up + 1, _DEL
    if best > left + 1:
        best, best_op = left + 1, _INS
    return best, best_op


@njit(cache=True)
def full_table(h: np.ndarray, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Costs and operations of the whole beam-limited table (cells outside the beam: INF)."""
    n_hyp, n_ref = h.shape[0], r.shape[0]
    ratio, beam = _geometry(n_hyp, n_ref)
    cost = np.full((n_hyp + 1, n_ref + 1), INF, dtype=np.int64)
    ops = np.full((n_hyp + 1, n_ref + 1), _UNDEF, dtype=np.int8)
    for j in range(n_ref + 1):
        cost[0, j] = j
        ops[0, j] = _INS
    for i in range(1, n_hyp + 1):
        lo, hi = _band(i, n_hyp, n_ref, ratio, beam)
        for j in range(lo, hi):
            if j == 0:
                cost[i, 0] = cost[i - 1, 0] + 1
                ops[i, 0] = _DEL
            else:
                c, o = _cell(h[i - 1], r, j, cost[i - 1, j - 1], cost[i - 1, j], cost[i, j - 1])
                cost[i, j] = c
                ops[i, j] = o
    return cost, ops


@njit(cache=True)
def distance_from(h: np.ndarray, r: np.ndarray, base_cost: np.ndarray, start: int) -> int:
    """Edit distance of h whose first ``start`` words equal those behind ``base_cost``'s rows.

    Rows 0..start are taken from base_cost; later rows are computed in two rolling buffers that
    remember which columns they hold (everything else reads as INF, as in sacrebleu's table).
    """
    n_hyp, n_ref = h.shape[0], r.shape[0]
    if start == n_hyp:
        return int(base_cost[n_hyp, n_ref])
    ratio, beam = _geometry(n_hyp, n_ref)
    prev = base_cost[start].copy()
    prev_lo, prev_hi = 0, n_ref + 1  # the base row is INF outside its band already
    cur = np.empty(n_ref + 1, dtype=np.int64)
    for i in range(start + 1, n_hyp + 1):
        lo, hi = _band(i, n_hyp, n_ref, ratio, beam)
        for j in range(lo, hi):
            up = prev[j] if prev_lo <= j < prev_hi else INF
            if j == 0:
                cur[0] = up + 1
            else:
                up_left = prev[j - 1] if prev_lo <= j - 1 < prev_hi else INF
                left = cur[j - 1] if j - 1 >= lo else INF
                cur[j] = _cell(h[i - 1], r, j, up_left, up, left)[0]
        prev, cur = cur, prev
        prev_lo, prev_hi = lo, hi
    if prev_lo <= n_ref < prev_hi:
        return int(prev[n_ref])
    return INF


@njit(cache=True)
def alignment(ops: np.ndarray, n_hyp: int, n_ref: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The trace read back from the table, flipped, as trace_to_alignment's three results."""
    trace = np.empty(n_hyp + n_ref, dtype=np.int8)
    k = trace.shape[0]
    i, j = n_hyp, n_ref
    while i > 0 or j > 0:
        op = ops[i, j]
        k -= 1
        if op == _SUB or op == _NOP:  # noqa: SIM109 (plain comparisons compile simplest)
            trace[k] = op
            i -= 1
            j -= 1
        elif op == _INS:
            trace[k] = _DEL  # flipped: rewrite the reference into the hypothesis
            j -= 1
        elif op == _DEL:
            trace[k] = _INS
            i -= 1
        else:
            raise ValueError("TER trace reached a cell outside the beam")
    align = np.full(n_ref, -1, dtype=np.int64)
    ref_err = np.zeros(n_ref + 1, dtype=np.int64)  # prefix sums of the error flags
    hyp_err = np.zeros(n_hyp + 1, dtype=np.int64)
    pos_h, pos_r = -1, -1
    for t in range(k, trace.shape[0]):
        op = trace[t]
        if op == _NOP or op == _SUB:  # noqa: SIM109
            pos_h += 1
            pos_r += 1
            align[pos_r] = pos_h
            err = 1 if op == _SUB else 0
            hyp_err[pos_h + 1] = hyp_err[pos_h] + err
            ref_err[pos_r + 1] = ref_err[pos_r] + err
        elif op == _INS:
            pos_h += 1
            hyp_err[pos_h + 1] = hyp_err[pos_h] + 1
        else:
            pos_r += 1
            align[pos_r] = pos_h
            ref_err[pos_r + 1] = ref_err[pos_r] + 1
    return align, ref_err, hyp_err


@njit(cache=True)
def perform_shift(words: np.ndarray, start: int, length: int, target: int) -> np.ndarray:
    # _perform_shift, with Python's slice clamping (numpy slices clamp the same way)
    if target < start:
        return np.concatenate(
            (words[:target], words[start : start + length], words[target:start], words[start + length :])
        )
    if target > start + length:
        return np.concatenate(
            (words[:start], words[start + length : target], words[start : start + length], words[target:])
        )
    return np.concatenate(
        (
            words[:start],
            words[start + length : length + target],
            words[start : start + length],
            words[length + target :],
        )
    )


@njit(cache=True)
def best_shift(h: np.ndarray, r: np.ndarray, checked: int) -> tuple[int, np.ndarray, int]:
    """_shift: (gain, shifted words, candidates checked so far) of the best shift, or (0, h, ...)."""
    n_hyp, n_ref = h.shape[0], r.shape[0]
    cost, ops = full_table(h, r)
    pre_score = int(cost[n_hyp, n_ref])
    align, ref_err, hyp_err = alignment(ops, n_hyp, n_ref)
    found = False
    best_gain, best_len, best_neg_start, best_neg_idx = 0, 0, 0, 0
    best_words = h
    stop = False
    # _find_shifted_pairs, in its order, with _shift's body run on each match it yields
    for start_h in range(n_hyp):
        for start_r in range(n_ref):
            if abs(start_r - start_h) > MAX_SHIFT_DIST:
                continue
            length = 0
            while h[start_h + length] == r[start_r + length] and length < MAX_SHIFT_SIZE:
                length += 1
                skip = (
                    hyp_err[start_h + length] - hyp_err[start_h] == 0
                    or ref_err[start_r + length] - ref_err[start_r] == 0
                    or start_h <= align[start_r] < start_h + length
                )
                if not skip:
                    prev_idx = -1
                    for offset in range(-1, length):
                        k = start_r + offset
                        if k == -1:
                            idx = 0
                        elif k < n_ref:
                            idx = align[k] + 1
                        else:
                            break
                        if idx == prev_idx:
                            continue
                        prev_idx = idx
                        shifted = perform_shift(h, start_h, length, idx)
                        gain = pre_score - distance_from(shifted, r, cost, min(start_h, idx))
                        checked += 1
                        # tuple order: gain, then longer, then earlier start, then earlier target
                        better = not found
                        if not better:
                            if gain != best_gain:
                                better = gain > best_gain
                            elif length != best_len:
                                better = length > best_len
                            elif -start_h != best_neg_start:
                                better = -start_h > best_neg_start
                            else:
                                better = -idx > best_neg_idx
                        if better:
                            found = True
                            best_gain, best_len = gain, length
                            best_neg_start, best_neg_idx = -start_h, -idx
                            best_words = shifted
                    if checked >= MAX_SHIFT_CANDIDATES:
                        stop = True
                        break
                if n_hyp == start_h + length or n_ref == start_r + length:
                    break
            if stop:
                break
        if stop:
            break
    if not found:
        return 0, h, checked
    return best_gain, best_words, checked


@njit(cache=True)
def ter_edits(h: np.ndarray, r: np.ndarray) -> int:
    """translation_edit_rate's edit count (shifts + final edit distance); r must be non-empty."""
    shifts = 0
    checked = 0
    words = h
    while True:
        gain, shifted, checked = best_shift(words, r, checked)
        if checked >= MAX_SHIFT_CANDIDATES:
            break
        if gain <= 0:
            break
        shifts += 1
        words = shifted
    cost, _ = full_table(words, r)
    return shifts + int(cost[words.shape[0], r.shape[0]])
