"""`mtharness align` and `mtharness rtt-correlation`: argparse front ends of document.py and rtt.py."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import Any

from mtharness.textio import atomic_write_json, to_json


def align_report(original_path: str, garbled_path: str, min_similarity: float = 0.35) -> dict[str, Any]:
    """Align a garbled copy to its original paragraph by paragraph, then score the matched pairs."""
    from mtharness.data.documents import read_paragraphs
    from mtharness.scoring import metrics as M
    from mtharness.validity.align import align_paragraphs

    original = read_paragraphs(original_path, "original document")
    garbled = read_paragraphs(garbled_path, "garbled document")
    alignment = align_paragraphs(original, garbled, min_similarity)
    matched = alignment.matched
    # a merged pair is scored as the joined originals against the one garbled paragraph (and vice versa)
    hyps = [" ".join(garbled[j] for j in b.garbled) for b in matched]
    refs = [" ".join(original[i] for i in b.original) for b in matched]
    lang = "en"
    specs = M.parse_specs(["bleu", "chrf"])
    per_pair = M.segment_scores(hyps, [refs], lang)
    return {
        "original": {"path": original_path, "n_paragraphs": len(original)},
        "garbled": {"path": garbled_path, "n_paragraphs": len(garbled)},
        "min_similarity": min_similarity,
        "beads": [
            {
                "original": [i + 1 for i in b.original],
                "garbled": [j + 1 for j in b.garbled],
                "similarity": b.similarity,
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


def format_alignment(report: dict[str, Any]) -> str:
    o, g = report["original"], report["garbled"]
    lines = [
        f"original {o['path']}: {o['n_paragraphs']} paragraphs; garbled {g['path']}: {g['n_paragraphs']}",
        "",
    ]
    lines.append(f"{'original':>10}  {'garbled':>8}  {'similarity':>10}  {'chrF2':>6}")
    chrf = iter(report["matched_segment_scores"]["chrF2"])
    for b in report["beads"]:
        orig = "+".join(map(str, b["original"])) or "-"
        garb = "+".join(map(str, b["garbled"])) or "-"
        sim = "" if b["similarity"] is None else f"{b['similarity']:.3f}"
        score = f"{next(chrf):6.1f}" if b["original"] and b["garbled"] else ""
        lines.append(f"{orig:>10}  {garb:>8}  {sim:>10}  {score:>6}")
    lines.append("")
    lines.append(f"unmatched original paragraphs: {report['unmatched_original'] or 'none'}")
    lines.append(f"unmatched garbled paragraphs:  {report['unmatched_garbled'] or 'none'}")
    m, d = report["matched_scores"], report["document_scores"]
    lines.append("matched pairs:  " + "  ".join(f"{k} {v['score']:.2f}" for k, v in m.items()))
    lines.append("whole document: " + "  ".join(f"{k} {v['score']:.2f}" for k, v in d.items()))
    return "\n".join(lines)


def align_main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="mtharness align",
        description="Align a garbled copy of an article with its original (paragraphs separated by blank "
        "lines; monotonic, chrF-based, 1-1/1-0/0-1/2-1/1-2), list unmatched paragraphs and score the pairs.",
    )
    parser.add_argument("original")
    parser.add_argument("garbled")
    parser.add_argument("--json", action="store_true", help="print the full report as JSON")
    parser.add_argument(
        "--min-similarity",
        type=float,
        default=0.35,
        help="below this (chrF 0-1) a paragraph stays unmatched rather than paired (default 0.35)",
    )
    args = parser.parse_args(list(argv))
    report = align_report(args.original, args.garbled, args.min_similarity)
    print(to_json(report).rstrip() if args.json else format_alignment(report))
    return 0


def rtt_main(argv: Sequence[str]) -> int:
    from mtharness.compare.rtt import format_report, rtt_correlation

    parser = argparse.ArgumentParser(
        prog="mtharness rtt-correlation",
        description="Correlate each round-trip metric with a forward metric across systems (runs of "
        "different systems on the same data with references): can the round trip stand in for references?",
    )
    parser.add_argument("runs", nargs="+", help="run folders, or a sweep/results folder holding them")
    parser.add_argument("--forward", default="chrF2", help="forward metric (sacrebleu name; default chrF2)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--output", help="also write the JSON report to this file")
    args = parser.parse_args(list(argv))
    report = rtt_correlation(args.runs, args.forward)
    if args.output:
        atomic_write_json(args.output, report)
    print(json.dumps(report, indent=2) if args.json else format_report(report))
    return 0
