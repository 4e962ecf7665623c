"""Shard selection: deterministic, disjoint, covering; shard runs translate and never score."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mtharness.core import Dataset, LanguagePair, MtharnessError, Segment
from mtharness.run.shard import parse_shard, select_shard, shard_of
from tests.conftest import run_cli


def _dataset(ids: list[str]) -> Dataset:
    segments = tuple(Segment(i, f"text {n}", (f"ref {n}",)) for n, i in enumerate(ids))
    return Dataset("t", LanguagePair("en", "es"), segments, ("A",))


@settings(max_examples=150, deadline=None)
@given(ids=st.lists(st.text(min_size=0, max_size=12), max_size=60), count=st.integers(1, 9))
def test_shards_are_disjoint_and_cover_everything(ids: list[str], count: int) -> None:
    ds = _dataset(ids)
    parts = [select_shard(ds, i, count) for i in range(count)]
    assert sum(len(part) for part in parts) == len(ds)
    # every segment lands in exactly one shard (each source text is unique: it carries the position)
    owned = sorted(s.source for part in parts for s in part.segments)
    assert owned == sorted(s.source for s in ds.segments)
    for part in parts:  # each shard keeps dataset order
        order = [int(s.source.split()[1]) for s in part.segments]
        assert order == sorted(order)


@given(seg_id=st.text(max_size=30), count=st.integers(1, 1000))
def test_shard_of_depends_only_on_id_and_count(seg_id: str, count: int) -> None:
    owner = shard_of(seg_id, count)
    assert 0 <= owner < count
    assert shard_of(seg_id, count) == owner
    # the same id in another dataset, at another position, goes to the same shard
    ds = _dataset(["x", seg_id, "y"])
    assert any(s.id == seg_id for s in select_shard(ds, owner, count).segments)


def test_shard_of_is_stable_across_processes(tmp_path: Path) -> None:
    """Python salts str hashes per process; shard ownership must not change with it."""
    import subprocess
    import sys

    code = "from mtharness.run.shard import shard_of; print([shard_of(str(i), 7) for i in range(50)])"
    outs = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={"PYTHONHASHSEED": seed, "PYTHONPATH": ":".join(sys.path)},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2")
    }
    assert len(outs) == 1
    assert outs.pop().strip() == str([shard_of(str(i), 7) for i in range(50)])


def test_shards_are_roughly_balanced() -> None:
    counts = [0] * 4
    for i in range(4000):
        counts[shard_of(str(i), 4)] += 1
    assert min(counts) > 850 and max(counts) < 1150


@pytest.mark.parametrize(
    ("index", "count", "expected"),
    [(None, 1, None), (0, 1, None), (None, None, None), (1, 3, (1, 3)), ("2", "3", (2, 3))],
)
def test_parse_shard_accepts(index: object, count: object, expected: object) -> None:
    assert parse_shard(index, count) == expected


@pytest.mark.parametrize(
    ("index", "count", "message"),
    [
        (None, 2, "needs shard.index=0..1"),
        (2, 2, "outside 0..1"),
        (-1, 2, "outside 0..1"),
        (0, 0, "must be >= 1"),
        ("a", 2, "shard.index='a'"),
        (0, "x", "shard.count='x'"),
    ],
)
def test_parse_shard_rejects(index: object, count: object, message: str) -> None:
    with pytest.raises(MtharnessError, match=message):
        parse_shard(index, count)


def test_shard_run_writes_manifest_and_no_scores(tmp_path: Path) -> None:
    run_dir = tmp_path / "s1"
    proc = run_cli(
        [
            "run",
            "translator=echo",
            "shard.index=1",
            "shard.count=3",
            "progress=false",
            f"hydra.run.dir={run_dir}",
        ],
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert "shard 1/3" in proc.stdout and "not scored" in proc.stdout
    assert not (run_dir / "scores.json").exists()
    manifest = json.loads((run_dir / "shard.json").read_text())
    assert manifest["shard"] == {"index": 1, "count": 3, "partial": True}
    total = manifest["dataset"]["n_segments_total"]
    assert manifest["n_segments"] == sum(shard_of(str(i), 3) == 1 for i in range(1, total + 1))


def test_bad_shard_is_one_line_error(tmp_path: Path) -> None:
    proc = run_cli(
        ["run", "translator=echo", "shard.index=5", "shard.count=2", f"hydra.run.dir={tmp_path / 'r'}"],
        cwd=tmp_path,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].endswith("shard.index=5 is outside 0..1 for shard.count=2")
