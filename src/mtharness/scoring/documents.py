"""Whole-document scores: each document of a run scored as one long segment."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mtharness.core import RunResult
from mtharness.scoring import metrics as M


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
