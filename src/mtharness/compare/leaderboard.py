"""Leaderboard: every finished run (scores.json) under a results folder, grouped by dataset and pair.

Runs of one dataset are grouped further by the data they were scored on (``content_hash``): a run
with ``limit=10`` and a full run are different test sets and never share a table. Within a group a
row is one SYSTEM, keyed by its full identity (compare.identity: translator settings, data, metric
signatures): two settings of one translator are two rows, labelled by the settings that differ. By
default the newest run of each identity is shown; ``keep_all`` shows every run. Scores come with
95% bootstrap CIs (compare.run_ci) and the copy / off-target rates, flagged above the warn rate.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mtharness.compare.identity import differing, identity_key, label
from mtharness.compare.run_ci import cis_from_json, cis_to_json, run_cis
from mtharness.core import DIRECTIONS, MtharnessError, format_score
from mtharness.run.reader import RunFolder, read_run
from mtharness.scoring.metrics import DEFAULT_METRICS
from mtharness.scoring.registry import get, precision_of
from mtharness.scoring.significance import ConfidenceInterval
from mtharness.validity.notes import WarnRates, lead_reasons, run_warn_rates

# the leaderboard's flag mark and rate columns, shared by its renderer and the sweep table
FLAG = "⚠"
RATE_COLUMNS = (("copy_rate", "copy rate"), ("off_target_rate", "off-target"))

METRIC_ORDER = tuple(get(kind).info.score_name for kind in DEFAULT_METRICS)  # BLEU, chrF2, chrF2++, TER
SHORT_ID = 8  # characters of the identity hash shown in tables
CI_CACHE = "leaderboard.ci.json"  # beside leaderboard.md: CIs of runs already seen
CI_CACHE_VERSION = 1
Group = tuple[str, str, str]


@dataclass
class Entry:
    """One run on the leaderboard: its validated run folder plus what the board adds to it."""

    run: RunFolder
    identity: str = ""
    label: str = ""
    settings: dict[str, str] = field(default_factory=dict)  # where it differs from same-named runs
    cis: dict[str, dict[str, ConfidenceInterval]] = field(default_factory=dict)
    warn: WarnRates = field(default_factory=WarnRates)

    @property
    def path(self) -> Path:
        return self.run.path

    @property
    def translator(self) -> str:
        """What a person reads in the table: the label (the name, plus settings where names clash)."""
        return self.label or self.run.name

    @property
    def group(self) -> Group:
        ds = self.run.dataset
        return ds.name, ds.pair, self.run.content_hash[:12]

    @property
    def created(self) -> str:
        return self.run.created or ""

    def score(self, direction: str, metric: str) -> float | None:
        found = self.run.record.score(direction, metric)
        return None if found is None else found.score

    def higher_is_better(self, direction: str, metric: str) -> bool:
        """The stored score's direction (every score records it; TER and MetricX-like are False)."""
        found = self.run.record.score(direction, metric)
        return True if found is None else found.higher_is_better

    def precision(self, direction: str, metric: str) -> int:
        found = self.run.record.score(direction, metric)
        return precision_of(metric) if found is None else found.precision

    def rate(self, name: str) -> float | None:
        return self.run.rates.get(name)

    def flagged(self, name: str) -> bool:
        value = self.rate(name)
        return value is not None and value > getattr(self.warn, name)


def collect(results_dir: str | Path) -> tuple[list[Entry], list[str]]:
    """Every readable scores.json below ``results_dir`` (runs and multirun jobs alike), plus skip notes."""
    root = Path(results_dir)
    if not root.is_dir():
        raise MtharnessError(f"results folder {root}: not a directory")
    entries, skipped = [], []
    for path in sorted(root.rglob("scores.json")):
        try:
            run = read_run(path.parent)
        except MtharnessError as exc:  # one broken file must not hide every other run
            skipped.append(str(exc))
            continue
        entries.append(Entry(run, identity=identity_key(run)))
    return entries, skipped


def select(entries: Sequence[Entry], keep_all: bool = False) -> dict[Group, list[Entry]]:
    """Group entries; keep the newest run per system identity in each group unless ``keep_all``.

    Each kept entry gets its label: its translator name, plus the settings in which it differs from
    the group's other runs of that name.
    """
    groups: dict[Group, list[Entry]] = {}
    for e in sorted(entries, key=lambda e: (e.created, str(e.path)), reverse=True):
        rows = groups.setdefault(e.group, [])
        if keep_all or all(r.identity != e.identity for r in rows):
            rows.append(e)
    for rows in groups.values():
        diffs = differing([e.run for e in rows])
        for e in rows:
            e.settings = diffs[str(e.path)]
            e.label = label(e.run, e.settings)
    return dict(sorted(groups.items()))


def annotate(
    groups: dict[Group, list[Entry]],
    ci_samples: int,
    copy_warn: float | None = None,
    off_target_warn: float | None = None,
    cache: dict[str, Any] | None = None,
) -> list[str]:
    """Warn rates and (``ci_samples`` > 0) bootstrap CIs for the shown entries; notes on runs skipped.

    ``cache`` (CI_CACHE's content, updated in place) keeps each run's CIs under the hash of its
    scores.json and the resample count: a finished run never changes, so a rerun of the leaderboard
    re-scores only the runs it has not seen.
    """
    notes = []
    cache = {} if cache is None else cache
    for rows in groups.values():
        for e in rows:
            e.warn = run_warn_rates(e.run.config, copy_warn, off_target_warn)
            if ci_samples <= 0:
                continue
            key = f"{_file_hash(e.run.scores_path)}:{ci_samples}"
            if key in cache:
                try:
                    e.cis = cis_from_json(cache[key])
                    continue
                except (KeyError, TypeError, ValueError, AttributeError):
                    pass  # an edited cache entry: computed afresh below
            try:
                e.cis = run_cis(e.run, ci_samples)
            except MtharnessError as exc:  # a broken segments.jsonl: the scores still show, without CIs
                notes.append(f"no CIs for {e.path}: {exc}")
                continue
            cache[key] = cis_to_json(e.cis)
    return notes


def _file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_ci_cache(path: Path) -> dict[str, Any]:
    """The CI cache beside leaderboard.md; unreadable or from another version: start afresh."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    ok = (
        isinstance(doc, dict) and doc.get("version") == CI_CACHE_VERSION and isinstance(doc.get("runs"), dict)
    )
    return dict(doc["runs"]) if ok else {}


def columns(rows: Sequence[Entry]) -> list[tuple[str, str]]:
    present = {(d, m) for e in rows for d in DIRECTIONS for m in e.run.scores.get(d, {})}
    extra = sorted({m for _, m in present} - set(METRIC_ORDER))
    return [(d, m) for d in DIRECTIONS for m in (*METRIC_ORDER, *extra) if (d, m) in present]


def higher_is_better_of(rows: Sequence[Entry], direction: str, metric: str) -> bool:
    """The column's direction, as the first run that has the score recorded it."""
    for e in rows:
        if e.score(direction, metric) is not None:
            return e.higher_is_better(direction, metric)
    return True


def ordered(rows: Sequence[Entry]) -> list[Entry]:
    """Best first by the first column (lowest first for a lower-is-better metric); runs without it last."""
    cols = columns(rows)
    sign = -1.0 if not cols or higher_is_better_of(rows, *cols[0]) else 1.0

    def key(e: Entry) -> tuple[float, str, str]:
        if not cols:
            return (0.0, e.translator, e.created)
        value = e.score(*cols[0])
        return (sign * value if value is not None else float("inf"), e.translator, e.created)

    return sorted(rows, key=key)


def round_trip_leads(rows: Sequence[Entry]) -> list[str]:
    """'<system>'s round-trip lead may come from copying its input (copy rate 0.10): ...' for each
    run above a warn rate that scores above another run on the group's round-trip chrF2 (or the first
    round-trip metric)."""
    names = [m for d, m in columns(rows) if d == "round_trip"]
    if not names:
        return []
    preferred = get("chrf").info.score_name  # chrF2: the round-trip score the README reads
    metric = preferred if preferred in names else names[0]
    sign = 1.0 if higher_is_better_of(rows, "round_trip", metric) else -1.0
    notes = []
    for e in rows:
        reasons = lead_reasons(e.run.rates, e.warn)
        mine = e.score("round_trip", metric)
        if not reasons or mine is None:
            continue
        below = [
            o
            for o in rows
            if o is not e and (s := o.score("round_trip", metric)) is not None and sign * (mine - s) > 0
        ]
        if below:
            digits = e.precision("round_trip", metric)
            shown = ", ".join(
                f"{o.translator} {format_score(o.score('round_trip', metric) or 0.0, digits)}"
                for o in below[:3]
            )
            notes.append(
                f"{e.translator}'s round-trip lead may come from {' and '.join(reasons)}: rt {metric} "
                f"{format_score(mine, digits)} above {shown}{' ...' if len(below) > 3 else ''}"
            )
    return notes
