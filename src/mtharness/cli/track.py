"""`mtharness track RUN_DIR... --to mlflow|wandb`: log finished runs to a tracker afterwards."""

from __future__ import annotations

import os
from collections.abc import Sequence

from mtharness.cli.args import Parser


def main(argv: Sequence[str]) -> int:
    """Log each finished run folder (a sweep folder: its jobs) once; a folder logged before is skipped."""
    from mtharness.compare.sweep import expand_runs
    from mtharness.track.log import log_folder
    from mtharness.track.settings import tracker_settings

    p = Parser(
        prog="mtharness track",
        description="Log finished run folders to MLflow or Weights & Biases: parameters (the resolved "
        "config, secrets redacted), every score as a metric, tags, artifacts and a per-segment table. "
        "A folder already logged (same identity and files) is not logged twice.",
    )
    p.add_argument("runs", nargs="+", metavar="RUN_DIR", help="finished run folders, or sweep folders")
    p.add_argument("--to", required=True, choices=["mlflow", "wandb"], help="the tracker")
    p.add_argument("--uri", help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI, else MLflow's default)")
    p.add_argument("--experiment", default="mtharness", help="MLflow experiment (default: mtharness)")
    p.add_argument("--project", default="mtharness", help="W&B project (default: mtharness)")
    p.add_argument("--entity", help="W&B entity (default: your default entity)")
    p.add_argument("--group", help="W&B group")
    p.add_argument(
        "--mode", choices=["online", "offline"], help="W&B mode (default: $WANDB_MODE, else online)"
    )
    p.add_argument(
        "--ci-n", type=int, default=1000, help="bootstrap resamples for the logged CI bounds (0: none)"
    )
    args = p.parse_args(list(argv))
    settings = tracker_settings(
        {
            "name": args.to,
            "uri": args.uri,
            "experiment": args.experiment,
            "project": args.project,
            "entity": args.entity,
            "group": args.group,
            "mode": args.mode or os.environ.get("WANDB_MODE") or "online",
            "ci_n": args.ci_n,
            "required": True,  # asked for explicitly: a tracker that cannot log is this command's failure
        }
    )
    for run_dir in expand_runs(args.runs):
        done = log_folder(run_dir, settings)  # required: a tracker failure is one error line, exit 2
        assert done is not None
        run_id, new = done
        state = "logged" if new else "already logged, skipped"
        print(f"{run_dir}: {state} ({args.to} run {run_id})")
    return 0
