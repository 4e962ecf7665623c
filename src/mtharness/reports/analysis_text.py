"""compare's analysis in the terminal: word F1 by reference frequency, salient n-grams against the
best system, and segment-level correlation per domain (the JSON and HTML hold the full detail)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def word_f_table(word_f: Mapping[str, Sequence[Mapping[str, Any]]]) -> list[str]:
    """One row per system, one F1 column per bucket (how often the word occurs in the references)."""
    if not word_f:
        return []
    buckets: list[str] = []
    for rows in word_f.values():
        buckets += [r["bucket"] for r in rows if r["bucket"] not in buckets]
    buckets.sort(key=lambda b: int(b.split("-")[0].rstrip("+")))  # 0, 1, 2, 3-4, ... 1000+
    width = max(len(s) for s in word_f) + 2
    lines = [
        "word F1 by frequency in the references (bucket 0: output words the references never use)",
        f"{'system':<{width}}" + "".join(f"{b:>9}" for b in buckets),
    ]
    for system, rows in word_f.items():
        f1 = {r["bucket"]: r["f1"] for r in rows}
        lines.append(f"{system:<{width}}" + "".join(f"{_num(f1.get(b)):>9}" for b in buckets))
    return lines


def salient_lines(salient: Mapping[str, Mapping[str, Any]], per_side: int = 3) -> list[str]:
    """The reference n-grams each system matches more (+) and less (-) often than the best one."""
    if not salient:
        return []
    lines = ["salient n-grams against the best system (matches in the references: this system / best)"]
    for system, entry in salient.items():

        def fmt(rows: Sequence[Mapping[str, Any]]) -> str:
            return ", ".join(f"'{r['ngram']}' {r['a']}/{r['b']}" for r in rows[:per_side]) or "none"

        lines.append(f"  {system} vs {entry.get('against')}:")
        lines.append(f"    + {fmt(entry.get('a_better') or [])}")
        lines.append(f"    - {fmt(entry.get('b_better') or [])}")
    return lines


def domain_lines(segment_correlations: Sequence[Any]) -> list[str]:
    """Segment-level correlation per domain (with --domains), item grouping."""
    lines: list[str] = []
    for c in segment_correlations:
        per = getattr(c, "per_domain", None) or {}
        if not per:
            continue
        if not lines:
            lines.append("segment-level correlation per domain (item grouping: Pearson, Kendall tau-b)")
        for domain, d in per.items():
            g = d.get("item_grouping") or {}
            lines.append(
                f"  {c.metric:<10} {domain:<14} {d.get('n_segments', ''):>5} segments"
                f"  {_num(g.get('pearson'), 3):>7}  {_num(g.get('kendall'), 3):>7}"
            )
    return lines


def analysis_text(analysis: Mapping[str, Any], segment_correlations: Sequence[Any] = ()) -> str:
    blocks = [
        word_f_table(analysis.get("word_f_by_frequency") or {}),
        salient_lines(analysis.get("salient_ngrams") or {}),
        domain_lines(segment_correlations),
    ]
    return "\n\n".join("\n".join(b) for b in blocks if b)


def _num(value: Any, digits: int = 3) -> str:
    return f"{value:.{digits}f}" if isinstance(value, int | float) and not isinstance(value, bool) else "n/a"
