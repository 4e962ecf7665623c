"""Issue 26, faults at scale on SLURM (the mechanism): a shard of a SLURM array cancelled with scancel
while it translates keeps its committed answers; resubmitted, it finishes, and the merge run's files
equal an unsharded run's. Drives scripts/faults_at_scale.py --only slurm (which measures the same at
10,000 segments); needs the one-node cluster (scripts/slurm_local.sh, root)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import REPO

pytestmark = [pytest.mark.slurm, pytest.mark.slow]


def test_cancelled_shard_resubmitted_merge_equals_unsharded() -> None:
    if subprocess.run([str(REPO / "scripts" / "slurm_local.sh"), "status"], capture_output=True).returncode:
        pytest.skip("no one-node SLURM cluster running (scripts/slurm_local.sh start, as root)")
    cmd = [sys.executable, str(REPO / "scripts" / "faults_at_scale.py"), "--only", "slurm"]
    proc = subprocess.run(
        [*cmd, "--n", "240", "--slurm-concurrency", "1"],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout[proc.stdout.index("\n{") :])["slurm"]
    assert result["cancelled_job"] and result["sweep_reported_failure"], result
    assert result["shard1_rows_kept"] >= result["shard1_rows_when_cancelled"] >= 10
    assert result["shard1_rows_kept"] < 240 // 3 + 40  # cancelled before its shard was done
    assert result["merge_cache"]["misses"] == 0  # the merge translated nothing itself
    assert result["merge_equals_unsharded"] is True
