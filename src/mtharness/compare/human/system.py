"""System-level correlation of metric scores with human judgments (WMT DA / MQM / ESA).

Readers for three layouts: a plain TSV of ``system<TAB>score`` (header optional), mt-metrics-eval
``*.sys.score`` files (no header), and the WMT results table ``da-sqm.results.sys.tsv`` (header with
``system`` and ``raw_mean``/``z_mean`` columns).
"""

from __future__ import annotations

import csv
import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mtharness.compare.human.correlation import correlations
from mtharness.core import MtharnessError
from mtharness.textio import read_text, split_lines

FORMATS = ("auto", "tsv", "mtme", "wmt-results")


def parse_score(text: str, where: str) -> float:
    """A human score: a finite float, else one error naming ``where``."""
    try:
        value = float(text)
    except ValueError:
        raise MtharnessError(f"{where}: {text!r} is not a number") from None
    if not math.isfinite(value):  # inf would turn every correlation into NaN
        raise MtharnessError(f"{where}: score {text.strip()!r} is not a finite number")
    return value


def is_number_text(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def read_human(path: str | Path, fmt: str = "auto", column: str | None = None) -> dict[str, float]:
    """System name -> human score. ``column`` picks the results-table column (default raw_mean)."""
    if fmt not in FORMATS:
        raise MtharnessError(f"human score format {fmt!r}: choose from {FORMATS}")
    text = read_text(path, "human score file")
    rows = [r for r in csv.reader(split_lines(text), delimiter="\t", quoting=csv.QUOTE_NONE) if r]
    if not rows:
        raise MtharnessError(f"human score file {path}: empty")
    header = [c.strip() for c in rows[0]]
    if fmt == "auto":
        fmt = "wmt-results" if "system" in header and ("raw_mean" in header or column in header) else "tsv"
    if fmt == "wmt-results":
        col = column or "raw_mean"
        for needed in ("system", col):
            if needed not in header:
                raise MtharnessError(
                    f"human score file {path}: no column {needed!r}; the header has {header}"
                )
        s_i, c_i = header.index("system"), header.index(col)
        body = enumerate(rows[1:], 2)
        return {r[s_i]: parse_score(r[c_i], f"{path}, line {n}") for n, r in body if len(r) > max(s_i, c_i)}
    # tsv and mtme: system, score (a header line, if any, has a non-numeric second field)
    start = 1 if len(rows[0]) >= 2 and not is_number_text(rows[0][1]) else 0
    out: dict[str, float] = {}
    for n, row in enumerate(rows[start:], start + 1):
        if len(row) < 2:
            raise MtharnessError(f"human score file {path}, line {n}: expected system<TAB>score")
        if row[1].strip() == "None":  # mt-metrics-eval marks unscored systems this way
            continue
        out[row[0].strip()] = parse_score(row[1], f"human score file {path}, line {n}")
    return out


@dataclass(frozen=True)
class Correlation:
    """Agreement of one metric with the humans over the systems both sides scored."""

    metric: str
    n_systems: int
    pearson: float | None
    spearman: float | None
    kendall: float | None
    pairwise_accuracy: float | None
    systems: list[str] = field(default_factory=list)
    missing_in_human: list[str] = field(default_factory=list)
    missing_in_metric: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        def r(x: float | None) -> float | None:
            return None if x is None else round(x, 4)

        return {
            "metric": self.metric,
            "n_systems": self.n_systems,
            "pearson": r(self.pearson),
            "spearman": r(self.spearman),
            "kendall": r(self.kendall),
            "pairwise_accuracy": r(self.pairwise_accuracy),
            "systems": self.systems,
            "missing_in_human": self.missing_in_human,
            "missing_in_metric": self.missing_in_metric,
        }


def pairwise_accuracy(metric: list[float], human: list[float]) -> float | None:
    """Share of system pairs the metric orders as the humans do (pairs the humans tie are skipped)."""
    agree = total = 0
    for i, j in itertools.combinations(range(len(metric)), 2):
        h = human[i] - human[j]
        if h == 0:
            continue
        total += 1
        agree += int((metric[i] - metric[j]) * h > 0)
    return agree / total if total else None


def _match(names: list[str], human: Mapping[str, float]) -> dict[str, str]:
    """Metric-side name -> human-side name: exact, else case-insensitive."""
    folded = {h.casefold(): h for h in human}
    out = {}
    for name in names:
        if name in human:
            out[name] = name
        elif name.casefold() in folded:
            out[name] = folded[name.casefold()]
    return out


def correlate(
    metric: str, scores: Mapping[str, float], human: Mapping[str, float], higher_is_better: bool = True
) -> Correlation:
    """Pearson, Spearman, Kendall tau (scipy.stats) and pairwise accuracy on the shared systems.

    Lower-is-better metrics (TER) are negated first, so a positive value always means agreement.
    """
    matched = _match(list(scores), human)
    systems = [s for s in scores if s in matched]
    m = [scores[s] if higher_is_better else -scores[s] for s in systems]
    h = [human[matched[s]] for s in systems]
    used = set(matched.values())
    missing_h = [s for s in scores if s not in matched]
    missing_m = sorted(s for s in human if s not in used)
    # correlations need three systems and some spread on both sides to mean anything
    c = correlations(m, h)
    return Correlation(
        metric,
        len(systems),
        c.pearson if c else None,
        c.spearman if c else None,
        c.kendall if c else None,
        pairwise_accuracy(m, h),
        systems,
        missing_h,
        missing_m,
    )
