"""The Compare page: `mtharness compare RUN...` computed by the same library calls as the CLI
(mtharness.cli.compare.main), with the same defaults, into the same ``--json`` document; the page
prints that document, so its numbers are the CLI's by construction (tests/serve check it).

Query string (every option has the CLI's name and default): ``run`` (2..N run keys, in order),
``baseline``, ``metric`` (repeatable; default bleu chrf), ``paired`` (bs, ar, none), ``paired_n``,
``ci_n``, ``seed``, ``alpha``, ``direction`` (forward, round_trip, both), ``human`` (a human-score
file under a results folder, as ``<root>/<path>``), ``human_level``, ``human_format``,
``human_column``. A comparison is cached in memory by its inputs (run folders and their scores.json
modification times) and options, so paging back to it is instant.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

from mtharness.core import DEFAULT_SEED, MtharnessError
from mtharness.run.reader import RunFolder
from mtharness.serve.urlstate import Params, choice, integer, number

# the CLI's defaults (cli/compare.py, cli/args.add_metrics): the page must compute what
# `mtharness compare RUN...` with no options prints
DEFAULT_METRICS = ("bleu", "chrf")
PAIRED = ("bs", "ar", "none")
DIRECTIONS = ("both", "forward", "round_trip")
MAX_RUNS = 20
CACHE_SIZE = 16


def common_seed(runs: Sequence[RunFolder]) -> int:
    """The seed the runs recorded when they agree, else DEFAULT_SEED (the rule of `compare`)."""
    seeds = {run.record.seed for run in runs} - {None}
    return seeds.pop() if len(seeds) == 1 else DEFAULT_SEED  # type: ignore[return-value]


def options(state: Params) -> dict[str, Any]:
    """The comparison's options from the query string, checked like the CLI checks its flags."""
    alpha = number(state, "alpha", 0.05)
    assert alpha is not None
    if not 0 < alpha < 1:
        raise MtharnessError(f"?alpha={alpha}: must be between 0 and 1 (e.g. 0.05)")
    paired_n = state.get("paired_n")
    # one box may hold several names ("bleu chrf ter"), as the CLI's --metrics takes several
    metrics = [m for raw in state.get("metric") or [] for m in raw.replace(",", " ").split()]
    metrics = metrics or list(DEFAULT_METRICS)
    return {
        "baseline": state.get("baseline") or None,
        "metrics": [m.lower() for m in metrics],
        "paired": choice(state, "paired", PAIRED, "bs"),
        "paired_n": integer(state, "paired_n", 0, 1, 100_000) if paired_n else None,
        "ci_n": integer(state, "ci_n", 1000, 1, 100_000),
        "seed": integer(state, "seed", -1, 0) if state.get("seed") else None,
        "alpha": alpha,
        "direction": choice(state, "direction", DIRECTIONS, "both"),
        "human_level": choice(state, "human_level", ("auto", "system", "segment"), "auto"),
        "human_format": choice(state, "human_format", ("auto", "tsv", "mtme", "wmt-results"), "auto"),
        "human_column": state.get("human_column") or None,
    }


def compute(
    runs: Sequence[RunFolder], labels: Sequence[str], opts: Mapping[str, Any], human: str | None
) -> dict[str, Any]:
    """The `compare --json` document of these runs under these options (library calls of the CLI)."""
    from mtharness.compare.copying import flag_round_trips, run_notes, run_rates
    from mtharness.compare.runs import inputs_from_runs, register_run_metrics, system_names
    from mtharness.compare.systems import compare, report_payload
    from mtharness.scoring.metrics import apply_options, parse_specs

    register_run_metrics([run.path for run in runs])
    inputs = inputs_from_runs(list(runs), opts["baseline"])
    if opts["direction"] != "both":
        inputs = [i for i in inputs if i.label == opts["direction"]]
        if not inputs:
            raise MtharnessError(f"?direction={opts['direction']}: the runs have no such direction")
    seed = common_seed(runs) if opts["seed"] is None else opts["seed"]
    specs = apply_options(parse_specs(opts["metrics"]), {})
    method = None if opts["paired"] == "none" else opts["paired"]
    # jobs=1: no worker processes forked from a server thread; the numbers do not depend on it
    comps = [
        compare(i, specs, method, opts["paired_n"], seed, opts["alpha"], opts["ci_n"], 1, None)
        for i in inputs
    ]
    rates = run_rates(runs, system_names(runs))
    flag_round_trips(comps, rates)
    if human:
        from mtharness.compare.human.evaluation import evaluate_forward

        evaluate_forward(
            comps,
            "?human:",
            human,
            opts["human_level"],
            opts["human_format"],
            opts["human_column"],
            None,
            opts["ci_n"],
        )
    return report_payload(comps, {"runs": list(labels), "notes": run_notes(rates)})


class CompareCache:
    """The last few comparisons, keyed by their inputs' files and modification times and the options."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self.size = size
        self._items: OrderedDict[Any, dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(
        self,
        runs: Sequence[RunFolder],
        labels: Sequence[str],
        opts: Mapping[str, Any],
        human: str | None,
    ) -> dict[str, Any]:
        stamp = tuple((str(r.path), r.scores_path.stat().st_mtime_ns) for r in runs)
        key = (stamp, tuple(labels), tuple(sorted((k, str(v)) for k, v in opts.items())), human)
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        payload = compute(runs, labels, opts, human)
        with self._lock:
            self._items[key] = payload
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return payload


def direction_view(label: str, block: Mapping[str, Any]) -> dict[str, Any]:
    """One direction of the document as the template prints it: per metric, rows best first."""
    metrics = []
    for name, m in block["metrics"].items():
        order = [c for cluster in m.get("clusters") or [] for c in cluster["systems"]] or list(
            block["systems"]
        )
        rows = [{"system": s, **m["systems"][s]} for s in order]
        metrics.append({"name": name, **m, "rows": rows, "order": order})
    return {
        "label": label,
        "title": TITLES.get(label, label),
        "block": block,
        "metrics": metrics,
        "warnings": block.get("warnings") or [],
        "human": block.get("human"),
    }


TITLES = {
    "forward": "Forward: the translations against the references",
    "round_trip": "Round trip: the source against the text translated there and back (no references)",
}
