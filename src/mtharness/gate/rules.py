"""The CI regression gate: rules, the comparability check, and the verdict. No Hydra, no argparse.

A rule checks one number of the current run against the baseline: a maximum drop (absolute, in the
metric's own direction: BLEU falling or TER rising is a drop) or a minimum score (for lower-is-better
numbers, a ceiling). A max-drop rule may also require the drop to be statistically significant
(paired bootstrap on the two runs' outputs against the same references).
"""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from mtharness.core import DEFAULT_SEED, DIRECTIONS, MtharnessError, format_score, gain
from mtharness.gate.baseline import RunSnapshot
from mtharness.run.record import RATES
from mtharness.scoring.metrics import KNOWN_METRIC_NAMES, metric_kind_or_none

Kind = Literal["max_drop", "min_score"]
Status = Literal["pass", "fail", "skip"]
RULE_KEYS = ("metric", "direction", "max_drop", "min_score", "significance")
# copy/off-target rates may rise at most this much unless a rule for that rate is given: a system that
# starts copying its input must not pass on a perfect round trip, whatever metric rules were chosen
RATE_GUARD = 0.02


@dataclass(frozen=True)
class RuleSpec:
    """A rule as written in a config or on the command line, before it meets a baseline."""

    metric: str  # BLEU, chrF2, round_trip.chrF2, copy_rate, off_target_rate, "*"
    max_drop: float | None = None
    min_score: float | None = None
    significance: bool = False
    direction: str | None = None  # forward, round_trip, both/None


@dataclass(frozen=True)
class Rule:
    """One concrete check: one JUnit test case."""

    metric: str
    direction: str | None  # None for run-level rates (copy_rate, off_target_rate)
    kind: Kind
    threshold: float
    significance: bool = False

    @property
    def target(self) -> str:
        return f"{self.direction}.{self.metric}" if self.direction else self.metric

    @property
    def name(self) -> str:
        sig = " if significant" if self.significance else ""
        return f"{self.target} {self.kind} {self.threshold:g}{sig}"


@dataclass
class Outcome:
    rule: Rule
    status: Status
    baseline: float | None = None
    current: float | None = None
    drop: float | None = None  # positive: worse, in the metric's own direction
    p_value: float | None = None
    message: str = ""
    precision: int | None = None  # the metric's display decimals (None: a rate, shown with 3)


@dataclass
class GateSettings:
    alpha: float = 0.05
    n_resamples: int = 1000
    seed: int = DEFAULT_SEED


@dataclass
class GateResult:
    outcomes: list[Outcome]
    notes: list[str]
    settings: GateSettings
    baseline: RunSnapshot
    current: RunSnapshot

    @property
    def passed(self) -> bool:
        return not any(o.status == "fail" for o in self.outcomes)

    @property
    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "fail"]


def parse_assignment(text: str, flag: str) -> tuple[str, float]:
    """`NAME=X` from --max-drop / --min-score."""
    name, sep, value = text.partition("=")
    try:
        number = float(value)
    except ValueError:
        number = float("nan")
    if not sep or not name or number != number:
        raise MtharnessError(f"{flag} {text!r}: expected NAME=NUMBER (e.g. {flag} chrF2=0.5)")
    check_limit(number, flag.lstrip("-").replace("-", "_"), f"{flag} {text!r}")
    return name.strip(), number


def check_limit(number: float, kind: str, where: str) -> None:
    """A rule's number is finite, and a drop is not negative (a negative drop would fail every run)."""
    if not math.isfinite(number):
        raise MtharnessError(f"{where}: {number} is not a finite number")
    if kind == "max_drop" and number < 0:
        raise MtharnessError(f"{where}: a drop cannot be negative; 0 means no drop at all is allowed")


def rule_specs_from_config(rules: Iterable[Any], where: str) -> list[RuleSpec]:
    """RuleSpecs from a config's `rules:` list of mappings (keys: RULE_KEYS)."""
    specs = []
    for i, node in enumerate(rules):
        if not isinstance(node, Mapping) or "metric" not in node:
            raise MtharnessError(f"{where}: rules[{i}] must be a mapping with a 'metric' key")
        unknown = sorted(set(node) - set(RULE_KEYS))
        if unknown:
            raise MtharnessError(
                f"{where}: rules[{i}] has unknown keys {unknown}; allowed: {list(RULE_KEYS)}"
            )
        if node.get("max_drop") is None and node.get("min_score") is None:
            raise MtharnessError(
                f"{where}: rules[{i}] ({node['metric']}) sets neither max_drop nor min_score"
            )
        try:
            specs.append(
                RuleSpec(
                    metric=str(node["metric"]),
                    max_drop=None if node.get("max_drop") is None else float(node["max_drop"]),
                    min_score=None if node.get("min_score") is None else float(node["min_score"]),
                    significance=bool(node.get("significance", False)),
                    direction=node.get("direction"),
                )
            )
        except (TypeError, ValueError) as exc:
            raise MtharnessError(f"{where}: rules[{i}]: {exc}") from None
        for kind in ("max_drop", "min_score"):
            value = getattr(specs[-1], kind)
            if value is not None:
                check_limit(value, kind, f"{where}: rules[{i}] ({node['metric']}) {kind}")
    return specs


def with_rate_guards(specs: list[RuleSpec]) -> list[RuleSpec]:
    """Add `RATE max_drop RATE_GUARD` for each rate that no rule mentions."""
    named = {s.metric.lower() for s in specs}
    return specs + [RuleSpec(rate, max_drop=RATE_GUARD) for rate in RATES if rate not in named]


def _split_target(spec: RuleSpec) -> tuple[list[str] | None, str]:
    """Directions asked for (None: wherever the metric is scored) and the bare metric name."""
    metric, direction = spec.metric, spec.direction
    head, dot, tail = metric.partition(".")
    if dot and head in DIRECTIONS:
        metric, direction = tail, head
    if direction in (None, "both", "all"):
        return None, metric
    if direction not in DIRECTIONS:
        raise MtharnessError(
            f"rule {spec.metric}: direction {direction!r} is not one of {[*DIRECTIONS, 'both']}"
        )
    return [str(direction)], metric


def _score_names(metric: str, names: Iterable[str], base: RunSnapshot) -> list[str]:
    """The baseline's score names a rule's metric means: a pattern or exact name (any case), else
    every score of the same metric kind, so `chrf` finds chrF2 and `chrf++` finds chrF2++."""
    names = list(names)
    hits = [n for n in names if fnmatch.fnmatchcase(n.lower(), metric.lower())]
    kind = metric_kind_or_none(metric)
    if hits or kind is None:
        return hits

    def kind_of(name: str) -> str | None:
        node = base.metrics.get(name) or {}
        return metric_kind_or_none(str(node.get("kind") or name))

    return [n for n in names if kind_of(n) == kind]


def expand_rules(specs: Iterable[RuleSpec], base: RunSnapshot, notes: list[str]) -> list[Rule]:
    """Concrete rules for the metrics and directions the baseline actually has (names case-insensitive)."""
    rules: list[Rule] = []
    for spec in specs:
        directions, metric = _split_target(spec)
        checks: list[tuple[Kind, float]] = []
        if spec.max_drop is not None:
            checks.append(("max_drop", spec.max_drop))
        if spec.min_score is not None:
            checks.append(("min_score", spec.min_score))
        if metric.lower() in RATES:
            if directions is not None:
                raise MtharnessError(f"rule {spec.metric}: {metric} belongs to the run, not to a direction")
            rate = metric.lower()
            if rate not in base.rates:
                notes.append(f"{rate}: not in the baseline, its rules are skipped")
            rules += [Rule(rate, None, kind, value, False) for kind, value in checks]
            continue
        matched = False
        for direction in directions or list(DIRECTIONS):
            names = base.scores.get(direction, {})
            hits = _score_names(metric, names, base)
            if not hits and directions is not None:
                raise MtharnessError(
                    f"rule {spec.metric}: the baseline has no {direction} score {metric!r}; "
                    f"it has {sorted(names) or 'none'}"
                )
            matched = matched or bool(hits)
            rules += [
                Rule(n, direction, kind, value, spec.significance and kind == "max_drop")
                for n in hits
                for kind, value in checks
            ]
        if not matched:
            have = sorted({n for d in base.scores.values() for n in d})
            known = "" if metric_kind_or_none(metric) else f" (metric names: {KNOWN_METRIC_NAMES})"
            raise MtharnessError(
                f"rule {spec.metric}: the baseline has no score {metric!r}; it has {have}{known}"
            )
    seen: dict[tuple[str, str | None, str], Rule] = {}
    for rule in rules:  # a later rule for the same check replaces an earlier one (flags after config)
        seen[(rule.metric, rule.direction, rule.kind)] = rule
    return list(seen.values())


def _short(value: Any) -> str:
    text = str(value)
    return text[:12] + "…" if len(text) > 16 else text


def check_comparable(base: RunSnapshot, cur: RunSnapshot) -> list[str]:
    """Raise one clear line if the runs cannot be compared; return notes on harmless differences."""
    bd, cd = base.dataset, cur.dataset

    def refuse(what: str, b: Any, c: Any, why: str) -> MtharnessError:
        return MtharnessError(f"incomparable runs: {what} differs (baseline {b}, current {c}): {why}")

    if bd.pair != cd.pair:
        raise refuse("language pair", bd.pair, cd.pair, "gate runs of the same pair")
    if bd.content_hash != cd.content_hash:
        raise refuse(
            "dataset content hash",
            _short(bd.content_hash),
            _short(cd.content_hash),
            f"different test data ({bd.name}, {base.n_segments} segments vs "
            f"{cd.name}, {cur.n_segments}); save a new baseline on this dataset",
        )
    if bd.references != cd.references:
        raise refuse(
            "references", list(bd.references), list(cd.references), "score against the same references"
        )
    notes = []
    for direction in base.directions():
        if direction not in cur.scores:
            raise refuse(f"{direction} scores", "present", "absent", "rerun with the same round_trip setting")
        for name, b in base.scores[direction].items():
            c = cur.scores[direction].get(name)
            if c is None:
                raise refuse(f"{direction}.{name}", "scored", "not scored", "rerun with the same metrics")
            if b.signature != c.signature:
                diff = _signature_diff(b.signature, c.signature)
                raise refuse(
                    f"{direction}.{name} signature", diff[0], diff[1], "rerun with the same metric settings"
                )
        extra = sorted(set(cur.scores[direction]) - set(base.scores[direction]))
        if extra:
            notes.append(f"{direction}: {', '.join(extra)} not in the baseline, not gated")
    if base.translator != cur.translator:
        notes.append(f"translator changed: {_identity_diff(base.translator, cur.translator)}")
    return notes


def _signature_diff(a: str, b: str) -> tuple[str, str]:
    """Only the differing fields of two sacrebleu signatures (e.g. version:2.5.0 vs version:2.6.0)."""
    fa, fb = a.split("|"), b.split("|")
    only_a = [f for f in fa if f not in fb]
    only_b = [f for f in fb if f not in fa]
    return "|".join(only_a) or a, "|".join(only_b) or b


def _identity_diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> str:
    """Only the translator identity keys that changed, values shortened for one line."""

    def show(value: Any) -> str:
        text = "(none)" if value is None else str(value)
        return text if len(text) <= 40 else text[:39] + "…"

    keys = [k for k in dict.fromkeys([*before, *after]) if before.get(k) != after.get(k)]
    return ", ".join(f"{k} {show(before.get(k))} -> {show(after.get(k))}" for k in keys)


EPS = 1e-9  # scores are stored rounded; a drop equal to the allowance passes


def _judge_rate(rule: Rule, base: RunSnapshot, cur: RunSnapshot) -> Outcome:
    b, c = base.rates.get(rule.metric), cur.rates.get(rule.metric)
    if c is None or (b is None and rule.kind == "max_drop"):
        where = "the current run" if c is None else "the baseline"
        return Outcome(rule, "skip", b, c, message=f"{rule.metric} is not in {where}; skipped")
    if rule.kind == "min_score":  # rates are lower-is-better: the "minimum score" is a ceiling
        ok = c <= rule.threshold + EPS
        return Outcome(
            rule,
            "pass" if ok else "fail",
            b,
            c,
            None if b is None else c - b,
            message=f"{rule.metric} {c:.3f} {'<=' if ok else '>'} {rule.threshold:g}",
        )
    assert b is not None
    rise = c - b
    ok = rise <= rule.threshold + EPS
    return Outcome(
        rule,
        "pass" if ok else "fail",
        b,
        c,
        rise,
        message=f"{rule.metric} rose by {rise:+.3f} (allowed {rule.threshold:g})",
    )


def _judge_metric(
    rule: Rule, base: RunSnapshot, cur: RunSnapshot, settings: GateSettings, p_value: Any
) -> Outcome:
    assert rule.direction is not None
    bm, cm = base.scores[rule.direction][rule.metric], cur.scores[rule.direction][rule.metric]
    b, c, higher = bm.score, cm.score, bm.higher_is_better
    digits = bm.precision
    drop = 0.0 - gain(
        c - b, higher
    )  # (0.0 - : never -0.0) a drop is a fall for higher-is-better, a rise for lower-is-better

    def num(value: float, sign: bool = False) -> str:
        return format_score(value, digits, sign)

    def outcome(status: Status, message: str, p: float | None = None) -> Outcome:
        return Outcome(rule, status, b, c, drop, p, message=message, precision=digits)

    if rule.kind == "min_score":  # a floor for higher-is-better, a ceiling for lower-is-better
        ok = c >= rule.threshold - EPS if higher else c <= rule.threshold + EPS
        word = ">=" if higher else "<="
        return outcome(
            "pass" if ok else "fail", f"{num(c)} {word if ok else 'not ' + word} {rule.threshold:g}"
        )
    if drop <= rule.threshold + EPS:
        return outcome("pass", f"drop {num(drop, True)} within {rule.threshold:g}")
    if not rule.significance:
        return outcome("fail", f"drop {num(drop, True)} exceeds {rule.threshold:g}")
    p = float(p_value(rule.direction, rule.metric))
    sig = p < settings.alpha
    verdict = "significant" if sig else "not significant"
    return outcome(
        "fail" if sig else "pass",
        f"drop {num(drop, True)} exceeds {rule.threshold:g}, {verdict} (p={p:.4f}, alpha {settings.alpha:g})",
        p,
    )


def run_gate(
    base: RunSnapshot, cur: RunSnapshot, specs: Iterable[RuleSpec], settings: GateSettings | None = None
) -> GateResult:
    """Check comparability, expand the rules against the baseline and judge each one."""
    from mtharness.gate.significance import SignificanceTester  # scores and resamples only when needed

    settings = settings or GateSettings()
    notes = check_comparable(base, cur)
    rules = expand_rules(specs, base, notes)
    if not rules:
        raise MtharnessError("no gate rules: pass --max-drop/--min-score, or --config NAME")
    tester = SignificanceTester(base, cur, settings.n_resamples, settings.seed)
    outcomes = [
        _judge_rate(r, base, cur)
        if r.direction is None
        else _judge_metric(r, base, cur, settings, tester.p_value)
        for r in rules
    ]
    return GateResult(outcomes, notes, settings, base, cur)
