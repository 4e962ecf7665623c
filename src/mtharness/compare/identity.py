"""The full identity of a system run, and a label that tells two settings of one translator apart.

Two runs are the same system only when everything that decides their numbers is equal: the
translator's identity (its scores.json ``translator``: backend, model, decoding settings, versions),
the data (``dataset.content_hash``) and every metric's sacrebleu signature. The leaderboard keys on
this, so a second apertium run with ``mark_unknown=true`` is a second row, not a replacement.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import PurePath
from typing import Any

from mtharness.run.reader import RunFolder

MODEL_KEYS = ("model", "model_name", "model_path", "checkpoint")
SHOWN_SETTINGS = 3  # a label names at most this many differing settings, then "+N more"
_VALUE_CHARS = 20


def signatures(run: RunFolder) -> dict[str, dict[str, str]]:
    """direction -> metric -> sacrebleu signature."""
    return {d.direction: {m: v.signature for m, v in sorted(d.scores.items())} for d in run.record.directions}


def identity_key(run: RunFolder) -> str:
    """sha256 over translator identity, data hash and metric signatures: equal means the same system."""
    doc = {"translator": run.translator, "data": run.content_hash, "signatures": signatures(run)}
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()


def model_of(translator: Mapping[str, Any]) -> str | None:
    """The model a neural backend ran (its first model-like key), shown in every label."""
    return next((str(translator[k]) for k in MODEL_KEYS if translator.get(k)), None)


def _flatten(value: Any, prefix: str, out: dict[str, str]) -> None:
    if isinstance(value, Mapping) and value:
        for key, sub in value.items():
            _flatten(sub, f"{prefix}.{key}" if prefix else str(key), out)
    else:
        out[prefix] = json.dumps(value, sort_keys=True, default=str) if not isinstance(value, str) else value


def settings(run: RunFolder) -> dict[str, str]:
    """Everything in the identity as flat ``key -> value`` text: translator keys (dotted) and each
    signature field per metric (``BLEU tok`` -> ``13a``; ``13a,zh`` where the directions differ)."""
    out: dict[str, str] = {}
    _flatten({k: v for k, v in run.translator.items() if k != "name"}, "", out)
    fields: dict[str, list[str]] = {}
    for metrics in signatures(run).values():
        for metric, sig in metrics.items():
            for part in sig.split("|"):
                key, _, value = part.partition(":")
                values = fields.setdefault(f"{metric} {key}", [])
                if value not in values:
                    values.append(value)
    out.update({k: ",".join(v) for k, v in fields.items()})
    return out


def _short(key: str, value: str) -> str:
    if "/" in value and not value.startswith("{"):  # a path: its file name says enough
        value = PurePath(value).name or value
    if len(value) > _VALUE_CHARS:
        value = value[: _VALUE_CHARS - 1] + "…"
    return f"{key}={value}"


def differing(runs: Sequence[RunFolder]) -> dict[str, dict[str, str]]:
    """run path -> the settings that set it apart from the other runs of its translator name.

    A setting is shown for a run when the runs of that name disagree on it and the run's value is
    not the one most of them have: of apertium with mark_unknown true and false both rows say which;
    of three runs where one changed the BLEU tokenizer, only that one says ``BLEU tok=intl``.
    """
    out: dict[str, dict[str, str]] = {}
    by_name: dict[str, list[RunFolder]] = {}
    for run in runs:
        by_name.setdefault(run.name, []).append(run)
    for group in by_name.values():
        flat = [settings(r) for r in group]
        keys = sorted({k for f in flat for k in f})
        values = {k: [f.get(k, "(none)") for f in flat] for k in keys}
        for run, f in zip(group, flat, strict=True):
            out[str(run.path)] = {
                k: f.get(k, "(none)")
                for k, vals in values.items()
                if len(set(vals)) > 1 and 2 * vals.count(f.get(k, "(none)")) <= len(vals)
            }
    return out


def label(run: RunFolder, diff: Mapping[str, str]) -> str:
    """'apertium [mark_unknown=true]', 'hf (opus-mt-en-de)': the name, the model, the settings that differ."""
    text = run.name
    model = model_of(run.translator)
    if model:
        text += f" ({_short('', model)[1:]})"
    shown = [_short(k, v) for k, v in diff.items() if k not in MODEL_KEYS][:SHOWN_SETTINGS]
    more = len([k for k in diff if k not in MODEL_KEYS]) - len(shown)
    if shown:
        text += " [" + ", ".join(shown) + (f", +{more} more" if more else "") + "]"
    return text
