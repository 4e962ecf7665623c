"""Document mode: articles as paragraphs, whole-document scores, and monotonic paragraph alignment.

A round trip through a content farm rarely keeps the paragraph structure: paragraphs get dropped or
merged. Before a garbled copy can be scored against its original, its paragraphs are aligned to the
original's by dynamic programming over chrF similarity, keeping the order (monotonic), with 1-1, 1-0,
0-1, 2-1 and 1-2 beads, the way sentence aligners (Gale & Church style) work.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from sacrebleu.metrics import CHRF

from mtharness import metrics as M
from mtharness.core import Dataset, LanguagePair, MtharnessError, RunResult
from mtharness.textio import read_text

# bead shapes: (original paragraphs, garbled paragraphs)
BEADS: tuple[tuple[int, int], ...] = ((1, 1), (1, 0), (0, 1), (2, 1), (1, 2))


def split_paragraphs(text: str) -> list[str]:
    """Paragraphs are separated by blank lines; lines inside one paragraph are joined by a space."""
    paragraphs, current = [], []
    for line in text.split("\n"):
        if line.strip():
            current.append(line.strip())
        elif current:
            paragraphs.append(" ".join(current))
            current = []
    if current:
        paragraphs.append(" ".join(current))
    return paragraphs


def read_paragraphs(path: str | Path, what: str = "document") -> list[str]:
    paragraphs = split_paragraphs(read_text(path, what))
    if not paragraphs:
        raise MtharnessError(f"{what} {path}: no paragraphs (paragraphs are separated by blank lines)")
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
    from mtharness.data import from_columns

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
    from mtharness.data import SAMPLE_DIR

    return load_document(str(SAMPLE_DIR / "article.en"), src_lang, tgt_lang, name="article")


# ---------------------------------------------------------------- whole-document scores


def document_scores(result: RunResult, specs: Sequence[M.MetricSpec]) -> dict[str, Any]:
    """Each document (doc_id; the whole dataset where there is none) scored as one long segment."""
    order: dict[str, list[int]] = {}
    for i, seg in enumerate(result.dataset.segments):
        order.setdefault(seg.doc_id or result.dataset.name, []).append(i)
    docs: dict[str, Any] = {}
    fwd, rt = result.forward, result.round_trip
    for doc, idx in order.items():
        entry: dict[str, Any] = {"n_paragraphs": len(idx)}
        joined = " ".join
        if result.dataset.ref_names:
            refs = [[joined(stream[i] for i in idx)] for stream in result.dataset.reference_streams]
            hyp = [joined(fwd.outputs[i] for i in idx)]
            entry["forward"] = {
                r.name: r.to_json() for r in (M.corpus_score(s, hyp, refs, fwd.pair.tgt) for s in specs)
            }
        if rt is not None:
            src = [[joined(result.dataset.sources[i] for i in idx)]]
            hyp = [joined(rt.outputs[i] for i in idx)]
            entry["round_trip"] = {
                r.name: r.to_json() for r in (M.corpus_score(s, hyp, src, rt.pair.tgt) for s in specs)
            }
            sims = rt.segment_scores.get("semantic_similarity")
            if sims:
                # MiniLM reads 256 word pieces: a whole article would be truncated, so average paragraphs
                entry["round_trip"]["semantic_similarity_mean_paragraph"] = round(
                    sum(sims[i] for i in idx) / len(idx), 6
                )
        docs[doc] = entry
    return {"n_documents": len(docs), "documents": docs}


# ---------------------------------------------------------------- alignment


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
