"""`mtharness align`: the argparse front end of validity/align.py (a garbled article vs its original)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mtharness.cli.args import Parser, add_json, text_stream, write_json
from mtharness.core import MtharnessError


def _diff_text(pieces: Sequence[Sequence[str]]) -> str:
    """wdiff style: [-lost words-] {+new words+}, readable in any terminal and in a log."""
    marks = {"equal": "{}", "delete": "[-{}-]", "insert": "{{+{}+}}"}
    return " ".join(marks[op].format(text) for op, text in pieces)


def format_alignment(report: dict[str, Any], texts: bool = True) -> str:
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
    if texts:
        lines += ["", "word diff, original -> garbled ([-lost-] {+introduced+}):"]
        for b in report["beads"]:
            orig = "+".join(map(str, b["original"])) or "-"
            garb = "+".join(map(str, b["garbled"])) or "-"
            lines += ["", f"original {orig} / garbled {garb}:", _diff_text(b["diff"])]
    return "\n".join(lines)


def align_main(argv: Sequence[str]) -> int:
    parser = Parser(
        prog="mtharness align",
        description="Align a garbled copy of an article with its original (paragraphs separated by blank "
        "lines, or one per line as in a run's rt file; monotonic, chrF-based, 1-1/1-0/0-1/2-1/1-2), list unmatched "
        "paragraphs, score the pairs and show each pair's word diff.",
    )
    parser.add_argument("original")
    parser.add_argument("garbled")
    parser.add_argument("--lang", default="en", help="the documents' language (BLEU tokenizer; default en)")
    parser.add_argument(
        "--layout",
        choices=["auto", "blank", "lines"],
        default="auto",
        help="paragraphs separated by blank lines (blank), one per line like a run's rt file (lines), "
        "or recognised per file (auto, default)",
    )
    parser.add_argument("--no-texts", action="store_true", help="numbers only, no word diff of the texts")
    add_json(parser, "the full report")
    parser.add_argument(
        "--min-similarity",
        type=float,
        default=0.35,
        help="below this (chrF 0-1) a paragraph stays unmatched rather than paired (default 0.35)",
    )
    args = parser.parse_args(list(argv))
    if not 0 <= args.min_similarity <= 1:
        raise MtharnessError(f"--min-similarity {args.min_similarity}: must be between 0 and 1 (chrF/100)")
    from mtharness.validity.align import align_report

    report = align_report(args.original, args.garbled, args.min_similarity, args.lang, args.layout)
    write_json(args.json, report)
    print(format_alignment(report, texts=not args.no_texts), file=text_stream(args))
    return 0
