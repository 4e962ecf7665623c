"""Hydra's side of trackers and sweeps: each run logged once its folder is complete, and a multirun's
parent run (before its jobs) and its one table across the jobs (after them, sweep.md/sweep.json).

The callbacks run in the launching process for every launcher (basic, joblib, submitit/SLURM); the
jobs, wherever they run, find the parent in the sweep folder (track.log.PARENT_FILE).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from mtharness.cli.failures import guarded
from mtharness.textio import atomic_write_json, atomic_write_text


def tracker_node(cfg: DictConfig) -> dict[str, Any] | None:
    node = cfg.get("tracker")
    return OmegaConf.to_container(node, resolve=True) if node is not None else None  # type: ignore[return-value]


def check_tracker(cfg: DictConfig) -> None:
    """Bad tracker settings fail before any translation (one line, exit 2)."""
    from mtharness.track.settings import tracker_settings

    tracker_settings(tracker_node(cfg))


def track_run(cfg: DictConfig, run_dir: str | Path, hydra_cfg: Any) -> None:
    """Log the finished run folder to the configured tracker (nothing when tracker=none)."""
    node = tracker_node(cfg)
    if not node or node.get("name", "none") == "none":
        return
    from mtharness.track.log import track_after_run

    multirun = hydra_cfg.mode == RunMode.MULTIRUN
    track_after_run(node, run_dir, Path(str(hydra_cfg.sweep.dir)) if multirun else None)


def write_sweep_table(sweep_dir: Path) -> list[Path]:
    """Print the sweep's table and write sweep.md and sweep.json beside its jobs."""
    from mtharness.compare.sweep import sweep_table, to_json, to_markdown, to_text

    table = sweep_table(sweep_dir)
    md = atomic_write_text(sweep_dir / "sweep.md", to_markdown(table))
    js = atomic_write_json(sweep_dir / "sweep.json", to_json(table))
    print(f"\nSweep {sweep_dir}: {len(table['rows'])} jobs\n{to_text(table)}\nwrote {md} {js}", flush=True)
    return [md, js]


class SweepCallback(Callback):
    """configs/evaluate.yaml hydra.callbacks.sweep."""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        try:
            node, sweep = tracker_node(config), Path(str(OmegaConf.select(config, "hydra.sweep.dir")))
        except OmegaConfBaseException:
            return  # Hydra reports the bad interpolation itself, as one line
        if not node or node.get("name", "none") == "none":
            return
        from mtharness.track.log import start_sweep

        guarded("run", lambda: start_sweep(node, sweep))

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep = Path(str(OmegaConf.select(config, "hydra.sweep.dir")))
        written = guarded("run", lambda: write_sweep_table(sweep))
        node = tracker_node(config)
        if node and node.get("name", "none") != "none":
            from mtharness.track.log import end_sweep

            guarded("run", lambda: end_sweep(node, sweep, written))
        sys.stdout.flush()
