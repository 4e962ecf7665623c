"""The one metric registry: kind -> the metric object (``scoring.protocol``) that implements it.

Shipped metrics are one line each in ``BUILTIN`` ("module:Class"), imported on first use, so a run
with metrics=[bleu] never imports COMET's modules. A metric outside the package registers itself
from a config: a ``_target_`` in configs/metrics/<name>.yaml under ``--config-dir`` (``from_config``),
or ``register(obj)`` from Python. The lookups here are the only place a metric name is interpreted.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from typing import Any

from mtharness.core import DEFAULT_PRECISION, MtharnessError
from mtharness.scoring.protocol import Metric

# one line per shipped metric. sacrebleu's are imported for any name lookup (chrF2, chrF++); the
# others only when asked for by kind (or once imported, by any of their names), so reading a score
# name never imports COMET: keep a lazily loaded metric's score name equal to its kind in any case
# (a "-" may stand for the kind's "_": xCOMET-QE is xcomet_qe).
EAGER = ("bleu", "chrf", "chrfpp", "ter")
BUILTIN: dict[str, str] = {
    "bleu": "mtharness.scoring.sacrebleu_metrics:Bleu",
    "chrf": "mtharness.scoring.sacrebleu_metrics:Chrf",
    "chrfpp": "mtharness.scoring.sacrebleu_metrics:ChrfPP",
    "ter": "mtharness.scoring.sacrebleu_metrics:Ter",
    "comet": "mtharness.scoring.comet.metric:Comet",
    "cometkiwi": "mtharness.scoring.comet.metric:CometKiwi",
    "metricx": "mtharness.scoring.metricx:MetricX",
    "xcomet": "mtharness.scoring.comet.xcomet:XComet",
    "xcomet_qe": "mtharness.scoring.comet.xcomet:XCometQE",
    "llm_mqm": "mtharness.scoring.judge:LlmMqm",
    "llm_da": "mtharness.scoring.judge:LlmDa",
}
_loaded: dict[str, Metric] = {}
_plugins: dict[str, str] = {}  # kind -> "module:Class" of metrics registered from configs


def _load(target: str) -> Metric:
    # "module:Class" (our registry lines) or "module.Class" (Hydra's _target_ style)
    module_name, _, attr = target.partition(":") if ":" in target else target.rpartition(".")
    try:
        obj = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise MtharnessError(
            f"metric _target_ {target}: cannot import it ({exc}); is its package on PYTHONPATH?"
        ) from None
    metric = obj() if isinstance(obj, type) else obj
    info = getattr(metric, "info", None)
    if info is None or not hasattr(info, "kind"):
        raise MtharnessError(f"metric _target_ {target}: it has no `info` (a scoring.protocol.MetricInfo)")
    if not isinstance(metric, Metric):
        raise MtharnessError(
            f"metric _target_ {target}: not a mtharness.scoring.protocol metric "
            "(subclass SegmentMetric; see docs/metrics.md, Add a metric)"
        )
    return metric


def register(metric: Metric | type[Metric] | str) -> Metric:
    """Add a metric (an object, a class, or "module:Class"); its kind and names become known everywhere."""
    if isinstance(metric, str):
        metric = _load(metric)
    elif isinstance(metric, type):
        metric = metric()
    kind = metric.info.kind.lower()
    known = _loaded.get(kind)
    if known is not None and type(known) is not type(metric):
        raise MtharnessError(
            f"metric {kind}: two implementations ({type(known).__name__}, {type(metric).__name__})"
        )
    _loaded[kind] = metric
    return metric


def from_config(key: str, node: Mapping[str, Any]) -> str:
    """A metrics.<key> node with ``_target_``: its metric registered; its kind returned."""
    target = str(node["_target_"])
    metric = register(target)
    _plugins[metric.info.kind.lower()] = target
    return metric.info.kind.lower()


def get(kind: str) -> Metric:
    """The metric of a kind (as ``resolve`` returns it)."""
    if kind not in _loaded:
        if kind not in BUILTIN:
            raise MtharnessError(f"unknown metric {kind!r}")
        register(_load(BUILTIN[kind]))
    return _loaded[kind]


def _known() -> Iterator[Metric]:
    """sacrebleu's metrics and every metric already imported or registered."""
    for kind in EAGER:
        yield get(kind)
    for kind, metric in list(_loaded.items()):
        if kind not in EAGER:
            yield metric


def resolve(name: str) -> str | None:
    """The kind a user's name (any case, any alias, the score name) stands for; None if none."""
    key = str(name).strip().lower()
    for candidate in (key, key.replace("-", "_")):  # xCOMET-QE's kind is xcomet_qe
        if candidate in BUILTIN or candidate in _loaded:
            return candidate
    for metric in _known():
        if key in metric.info.names():
            return metric.info.kind.lower()
    return None


def plugin_target(kind: str) -> str | None:
    """The ``_target_`` a metric was registered from by a config (None: shipped, or registered in code)."""
    return _plugins.get(kind)


def plugin_kinds() -> list[str]:
    """Kinds registered from configs or code (not shipped), for error messages."""
    return [k for k in _loaded if k not in BUILTIN]


def info_for_score(score_name: str) -> Any:
    """The MetricInfo whose score name is ``score_name`` (chrF1 counts as chrF), or None."""
    kind = resolve(score_name)
    return None if kind is None else get(kind).info


def precision_of(score_name: str, stored: Mapping[str, Any] | None = None) -> int:
    """Display precision of a stored score: its own ``precision``, else its metric's, else 2."""
    value = (stored or {}).get("precision")
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 12:
        return value
    info = info_for_score(score_name)
    return info.precision if info is not None else DEFAULT_PRECISION
