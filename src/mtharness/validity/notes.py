"""What every summary says beside round-trip scores: the copy and off-target warnings, and how to read.

A round trip needs no references, but a system that copies its input, or writes the source language
instead of the target, gets it back nearly untouched and scores high. So each place that shows a
round-trip score (the run's terminal summary and summary.md, `compare`, `report`, `leaderboard`)
warns when the copy rate or the off-target rate is above a warn rate: ``validity.warn.copy_rate`` and
``validity.warn.off_target_rate`` of the run (default 5%), or `--copy-warn` / `--off-target-warn`
of the command that reads the runs. Above half of the segments the round trip means nothing at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mtharness.core import MtharnessError

MEANINGLESS_RATE = 0.5  # above this, the round trip of the run measures copying, nothing else

# said by the run's terminal summary, summary.md and the HTML reports, in these words
HOW_TO_READ = (
    "Forward scores compare the translation with human reference translations and measure its quality; "
    "round-trip scores compare the original with the text translated there and back, need no references, "
    "and are high for a system that copies or barely changes its input, so read them next to the copy "
    "and off-target rates. Run with validity=full to add the semantic similarity of each round trip."
)

# Default warn rates: a run whose forward output copies its source (copy rate) or is not in the target
# language (off-target rate) on more than this fraction of segments has inflated round-trip scores, and
# every summary (the terminal, summary.md, compare, report, leaderboard) says so. A run sets its own
# with validity.warn.copy_rate / validity.warn.off_target_rate; the readers take --copy-warn /
# --off-target-warn (cli.args.add_warn_rates).
COPY_WARN_RATE = 0.05
OFF_TARGET_WARN_RATE = 0.05


@dataclass(frozen=True)
class WarnRates:
    """Rates above which a run's copying / off-target output is flagged next to its round trip."""

    copy_rate: float = COPY_WARN_RATE
    off_target_rate: float = OFF_TARGET_WARN_RATE


def check_rate(value: Any, key: str) -> float:
    """``value`` as a fraction in [0, 1]; anything else is one error naming ``key``."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= float(value) <= 1.0:
        raise MtharnessError(f"{key}={value!r} must be a rate between 0 and 1 (e.g. {key}=0.05)")
    return float(value)


def warn_rates(
    validity: Mapping[str, Any] | None, copy: float | None = None, off_target: float | None = None
) -> WarnRates:
    """The warn rates of a run's ``validity`` config block (checked), overridden by ``copy``/``off_target``.

    A run folder written before these settings existed has none: the defaults apply.
    """
    node = (validity or {}).get("warn") or {}
    if not isinstance(node, Mapping):
        raise MtharnessError(f"validity.warn={node!r} must be a group: validity.warn.copy_rate=0.05 ...")
    unknown = sorted(set(node) - {"copy_rate", "off_target_rate"})
    if unknown:
        raise MtharnessError(f"validity.warn: unknown key(s) {unknown}; known: copy_rate, off_target_rate")
    defaults = WarnRates()
    rates = {}
    for key, given in (("copy_rate", copy), ("off_target_rate", off_target)):
        value = given if given is not None else node.get(key, getattr(defaults, key))
        rates[key] = check_rate(value, f"validity.warn.{key}" if given is None else key)
    return WarnRates(**rates)


def run_warn_rates(
    config: Mapping[str, Any] | None, copy: float | None = None, off_target: float | None = None
) -> WarnRates:
    """The warn rates a finished run recorded (its scores.json ``config``), with overrides."""
    validity = (config or {}).get("validity")
    return warn_rates(validity if isinstance(validity, Mapping) else None, copy, off_target)


def copy_flag(rate: float | None, warn: float) -> str | None:
    """What a copy rate above ``warn`` means, in a few words; None when it is not above."""
    if rate is None or rate <= warn:
        return None
    if rate > MEANINGLESS_RATE:
        return "the system copies its input: its round-trip scores mean nothing"
    return (
        f"the system copies its input on {rate:.0%} of the segments (warn rate {warn:.2f}), "
        "which inflates its round-trip scores"
    )


def off_target_flag(rate: float | None, warn: float, target: str = "") -> str | None:
    """What an off-target rate above ``warn`` means; None when it is not above (or undetermined)."""
    if rate is None or rate <= warn:
        return None
    where = f" ({target})" if target else ""
    if rate > MEANINGLESS_RATE:
        return (
            f"the forward output is mostly not in the target language{where}: its round-trip scores "
            "mean nothing"
        )
    return (
        f"{rate:.0%} of the forward outputs are not in the target language{where} (warn rate {warn:.2f}), "
        "which inflates round-trip scores"
    )


def copy_note(rate: float | None, warn: float) -> str | None:
    """'copy rate 0.100: the system copies its input on 10% ...' when above ``warn``; else None."""
    flag = copy_flag(rate, warn)
    return None if flag is None else f"copy rate {rate:.3f}: {flag}"


def off_target_note(rate: float | None, warn: float, target: str = "") -> str | None:
    """'off-target rate 0.120: 12% of the forward outputs ...' when above ``warn``; else None."""
    flag = off_target_flag(rate, warn, target)
    return None if flag is None else f"off-target rate {rate:.3f}: {flag}"


def rate_notes(rates: Mapping[str, float | None], warn: WarnRates, target: str = "") -> list[str]:
    """The copy and off-target notes of one run (``rates``: copy_rate, off_target_rate; absent = unknown)."""
    notes = [
        copy_note(rates.get("copy_rate"), warn.copy_rate),
        off_target_note(rates.get("off_target_rate"), warn.off_target_rate, target),
    ]
    return [n for n in notes if n]


def lead_reasons(rates: Mapping[str, float | None], warn: WarnRates) -> list[str]:
    """Why a round-trip lead of this run is suspect: 'copying its input (copy rate 0.10)', ..."""
    reasons = []
    copy, off = rates.get("copy_rate"), rates.get("off_target_rate")
    if copy is not None and copy > warn.copy_rate:
        reasons.append(f"copying its input (copy rate {copy:.2f})")
    if off is not None and off > warn.off_target_rate:
        reasons.append(f"output not in the target language (off-target rate {off:.2f})")
    return reasons
