"""Copy and off-target warnings of compared runs, and the round-trip wins they may explain.

A system that copies 10% of its input gets those segments back untouched, so its round trip can be
"significantly better" than an honest system's while translating worse. Every run whose copy or
off-target rate is above its warn rate (mtharness.validity.notes) gets a note; in a round-trip
comparison, such a system that ranks above others, or beats the baseline significantly, is named:
"<system>'s round-trip lead may come from copying its input (copy rate 0.10)".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mtharness.compare.systems import Comparison, MetricComparison
from mtharness.run.reader import RunFolder
from mtharness.validity.notes import WarnRates, lead_reasons, rate_notes, run_warn_rates


@dataclass(frozen=True)
class RunRates:
    """One compared run: its name in the comparison, its recorded rates and the warn rates that apply."""

    system: str
    path: Path
    rates: dict[str, float]
    warn: WarnRates
    target: str

    def notes(self) -> list[str]:
        return rate_notes(self.rates, self.warn, self.target)

    def lead_reasons(self) -> list[str]:
        return lead_reasons(self.rates, self.warn)


def run_rates(
    runs: Sequence[RunFolder],
    names: Sequence[str],
    copy_warn: float | None = None,
    off_target_warn: float | None = None,
) -> list[RunRates]:
    """Each run's rates under the warn rates it recorded (validity.warn.*) unless the flags override."""
    return [
        RunRates(
            name,
            run.path,
            dict(run.rates),
            run_warn_rates(run.config, copy_warn, off_target_warn),
            run.tgt_lang,
        )
        for run, name in zip(runs, names, strict=True)
    ]


def run_notes(items: Sequence[RunRates]) -> list[str]:
    """'<system> (<folder>): copy rate 0.100: ...' for every rate above its warn rate."""
    return [f"{i.system} ({i.path}): {note}" for i in items for note in i.notes()]


def flag_round_trips(comps: Sequence[Comparison], items: Sequence[RunRates]) -> None:
    """Put the copy / off-target warnings beside each round-trip comparison (JSON, terminal, HTML)."""
    for comp in comps:
        comp.warnings = round_trip_warnings(comp, items)


def round_trip_warnings(comp: Comparison, items: Sequence[RunRates]) -> list[str]:
    """The warnings shown beside a round-trip comparison (none for a forward one): each flagged
    system's rates, and a lead (rank or significant win) of a copying / off-target system."""
    if comp.inp.label != "round_trip" or not comp.metrics:
        return []
    by_name = {i.system: i for i in items}
    out = []
    for system in comp.systems:
        item = by_name.get(system)
        if item is None:
            continue
        out += [f"{system}: {note}" for note in item.notes()]
        reasons = item.lead_reasons()
        how = _lead(comp, system) if reasons else None
        if how:
            out.append(f"{system}'s round-trip lead may come from {' and '.join(reasons)}: {how}")
    return out


def _score(m: MetricComparison, system: str) -> str:
    return f"{m.stats[system].score:.2f}"


def _lead(comp: Comparison, system: str) -> str | None:
    """How ``system`` leads the round trip: a significant win over the baseline on any metric, else a
    place above other systems on the ranking metric (with the pairwise p-value when tested)."""
    if comp.baseline_given and system != comp.baseline:
        for m in comp.metrics:
            test = m.tests.get(system)
            if test is not None and test.significant and test.improved:
                return (
                    f"significantly better than {comp.baseline} on round-trip {m.name} "
                    f"({_score(m, system)} vs {_score(m, comp.baseline)}, p={test.p_value:.4f})"
                )
    first = comp.metrics[0]
    order = comp.systems  # best first on the first metric
    sign = 1.0 if first.higher_is_better else -1.0
    below = [
        s
        for s in order[order.index(system) + 1 :]
        if sign * (first.stats[system].score - first.stats[s].score) > 0
    ]
    if not below:
        return None
    shown = ", ".join(f"{s} {_score(first, s)}" for s in below[:3]) + (" ..." if len(below) > 3 else "")
    how = f"ranked above {shown} on round-trip {first.name} ({_score(first, system)})"
    if first.ranking is not None:
        p = first.ranking.p_value(system, below[0])
        how += f"; {'significantly' if p < comp.alpha else 'not significantly'} above {below[0]} (p={p:.4f})"
    return how
