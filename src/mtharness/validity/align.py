"""Monotonic paragraph alignment of a garbled article with its original.

A round trip through a content farm rarely keeps the paragraph structure: paragraphs get dropped or
merged. Before a garbled copy can be scored against its original, its paragraphs are aligned to the
original's by dynamic programming over chrF similarity, keeping the order (monotonic), with 1-1, 1-0,
0-1, 2-1 and 1-2 beads, the way sentence aligners (Gale & Church style) work.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from sacrebleu.metrics import CHRF

from mtharness.core import MtharnessError

# bead shapes: (original paragraphs, garbled paragraphs)
BEADS: tuple[tuple[int, int], ...] = ((1, 1), (1, 0), (0, 1), (2, 1), (1, 2))


@dataclass
class Bead:
    original: list[int]  # 0-based paragraph indexes
    garbled: list[int]
    similarity: float | None  # chrF (beta 1, 0-1) of the joined texts; None for 1-0 / 0-1


@dataclass
class Alignment:
    beads: list[Bead] = field(default_factory=list)

    @property
    def unmatched_original(self) -> list[int]:
        return [i for b in self.beads if not b.garbled for i in b.original]

    @property
    def unmatched_garbled(self) -> list[int]:
        return [j for b in self.beads if not b.original for j in b.garbled]

    @property
    def matched(self) -> list[Bead]:
        return [b for b in self.beads if b.original and b.garbled]


def _parts_resemble(sim: Any, i: int, j: int, di: int, dj: int, threshold: float) -> bool:
    if di == 2:
        return sim(i, i + 1, j, j + 1) >= threshold and sim(i + 1, i + 2, j, j + 1) >= threshold
    if dj == 2:
        return sim(i, i + 1, j, j + 1) >= threshold and sim(i, i + 1, j + 1, j + 2) >= threshold
    return True


def align_paragraphs(
    original: Sequence[str], garbled: Sequence[str], min_similarity: float = 0.35
) -> Alignment:
    """Monotonic alignment minimising the cost: (1 - chrF) per aligned paragraph, 1 - min_similarity
    per unmatched one; so a paragraph is left unmatched when its best partner is below min_similarity.
    A merge (2-1, 1-2) needs each of its two paragraphs to resemble the single one on its own, or a
    short unrelated insertion would ride along inside a merge at almost no cost."""
    chrf = CHRF(beta=1)  # beta 1: symmetric in its two arguments, unlike chrF2

    @cache
    def sim(i0: int, i1: int, j0: int, j1: int) -> float:
        a, b = " ".join(original[i0:i1]), " ".join(garbled[j0:j1])
        return float(chrf.sentence_score(b, [a]).score) / 100.0

    n, m, skip = len(original), len(garbled), 1.0 - min_similarity
    inf = float("inf")
    cost = [[inf] * (m + 1) for _ in range(n + 1)]
    back: list[list[tuple[int, int] | None]] = [[None] * (m + 1) for _ in range(n + 1)]
    cost[0][0] = 0.0
    for i in range(n + 1):
        for j in range(m + 1):
            for di, dj in BEADS:
                pi, pj = i - di, j - dj
                if pi < 0 or pj < 0 or cost[pi][pj] == inf:
                    continue
                if di == 0 or dj == 0:
                    step = skip * (di + dj)
                elif not _parts_resemble(sim, pi, pj, di, dj, min_similarity):
                    continue
                else:
                    step = (1.0 - sim(pi, i, pj, j)) * (di + dj)
                if cost[pi][pj] + step < cost[i][j] - 1e-12:
                    cost[i][j], back[i][j] = cost[pi][pj] + step, (di, dj)
    beads: list[Bead] = []
    i, j = n, m
    while i or j:
        step_back = back[i][j]
        assert step_back is not None
        di, dj = step_back
        s = None if di == 0 or dj == 0 else round(sim(i - di, i, j - dj, j), 6)
        beads.append(Bead(list(range(i - di, i)), list(range(j - dj, j)), s))
        i, j = i - di, j - dj
    return Alignment(beads[::-1])


def word_diff(original: str, changed: str) -> list[tuple[str, str]]:
    """Word-level diff as (op, text) pieces: op is equal, delete (only in original) or insert.

    A replacement becomes a delete followed by an insert, so a renderer needs just three styles.
    """
    a, b = original.split(), changed.split()
    pieces: list[tuple[str, str]] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op == "equal":
            pieces.append(("equal", " ".join(a[i1:i2])))
            continue
        if i2 > i1:
            pieces.append(("delete", " ".join(a[i1:i2])))
        if j2 > j1:
            pieces.append(("insert", " ".join(b[j1:j2])))
    return pieces


def align_report(
    original_path: str,
    garbled_path: str,
    min_similarity: float = 0.35,
    lang: str = "en",
    layout: str = "auto",
) -> dict[str, Any]:
    """Align a garbled copy to its original paragraph by paragraph, then score the matched pairs.

    ``lang`` is the documents' language: it picks sacrebleu's BLEU tokenizer (zh, ja, ko differ).
    ``layout`` says how each file holds its paragraphs (see ``split_paragraphs``): ``auto`` reads a
    run's rt file (one paragraph per line) as well as an article with blank lines between paragraphs.
    """
    from mtharness.data.documents import read_paragraphs
    from mtharness.scoring import metrics as M
    from mtharness.validity.align import align_paragraphs

    original = read_paragraphs(original_path, "original document", layout)
    garbled = read_paragraphs(garbled_path, "garbled document", layout)
    alignment = align_paragraphs(original, garbled, min_similarity)
    matched = alignment.matched
    if not matched:  # nothing to score (sacrebleu fails on empty lists)
        raise MtharnessError(
            f"align: no paragraph of {garbled_path} matches one of {original_path} at --min-similarity "
            f"{min_similarity}; are they the same article? (a lower --min-similarity pairs less similar ones)"
        )
    # a merged pair is scored as the joined originals against the one garbled paragraph (and vice versa)
    hyps = [" ".join(garbled[j] for j in b.garbled) for b in matched]
    refs = [" ".join(original[i] for i in b.original) for b in matched]
    specs = M.parse_specs(["bleu", "chrf"])
    per_pair = M.segment_scores(hyps, [refs], lang)
    return {
        "lang": lang,
        "original": {"path": original_path, "n_paragraphs": len(original)},
        "garbled": {"path": garbled_path, "n_paragraphs": len(garbled)},
        "min_similarity": min_similarity,
        "beads": [
            {
                "original": [i + 1 for i in b.original],
                "garbled": [j + 1 for j in b.garbled],
                "similarity": b.similarity,
                "diff": word_diff(
                    " ".join(original[i] for i in b.original), " ".join(garbled[j] for j in b.garbled)
                ),
            }
            for b in alignment.beads
        ],
        "unmatched_original": [i + 1 for i in alignment.unmatched_original],
        "unmatched_garbled": [j + 1 for j in alignment.unmatched_garbled],
        "matched_scores": {
            r.name: r.to_json() for r in (M.corpus_score(s, hyps, [refs], lang) for s in specs)
        },
        "matched_segment_scores": per_pair,
        "document_scores": {
            r.name: r.to_json()
            for r in (M.corpus_score(s, [" ".join(garbled)], [[" ".join(original)]], lang) for s in specs)
        },
    }
