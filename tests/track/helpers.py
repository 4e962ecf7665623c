"""What the tracker tests share: the secret sentinel, scores.json read independently of the code."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

SENTINEL = "SENTINEL-s3cr3t-7f2a9c"  # given as a tracker token and in secret-named env variables
SECRET_ENV = {"MTHARNESS_TEST_API_KEY": SENTINEL + "-env", "WANDB_API_KEY": SENTINEL + "-wandb0000000000000"}


def scores(run_dir: Path) -> dict[str, Any]:
    return json.loads((run_dir / "scores.json").read_text(encoding="utf-8"))


def expected_metrics(run_dir: Path) -> dict[str, float]:
    """Every score of scores.json as `<direction>.<score>` (+ spelt p), and the two rates."""
    doc = scores(run_dir)
    out = {
        f"{d}.{m.replace('+', 'p')}": v["score"] for d, per in doc["scores"].items() for m, v in per.items()
    }
    out.update(copy_rate=doc["copy_rate"], off_target_rate=doc["off_target_rate"])
    return out


def flat_config(node: Any, prefix: str = "") -> dict[str, str]:
    """scores.json's config flattened the way parameters are logged (JSON for non-text leaves)."""
    out: dict[str, str] = {}
    if isinstance(node, Mapping) and (node or not prefix):
        for k, v in node.items():
            out.update(flat_config(v, f"{prefix}.{k}" if prefix else k))
    else:
        out[prefix] = node if isinstance(node, str) else json.dumps(node, sort_keys=True)
    return out


def files_containing(root: Path, text: str) -> list[Path]:
    """Every file below ``root`` whose bytes contain ``text`` (databases and binary logs included)."""
    needle = text.encode()
    return [p for p in root.rglob("*") if p.is_file() and needle in p.read_bytes()]
