"""Reading back what wandb wrote offline: the run's .wandb file, decoded with wandb's own protobuf
records (wandb.proto.wandb_internal_pb2.Record). No network.

wandb 0.31 keeps no Python reader for the file (its datastore moved into the Go core), so the
framing is read here: a 7-byte header (``:W&B``, magic, version), then LevelDB-log records in
32 KiB blocks, each a 7-byte header (crc32c, little-endian length, type: 1 full, 2 first, 3
middle, 4 last) and its bytes.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

BLOCK = 32768
HEADER = 7
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4


def raw_records(path: Path) -> list[bytes]:
    data = path.read_bytes()
    assert data[:4] == b":W&B", f"{path}: not a wandb transaction log"
    out, pending, pos = [], b"", HEADER
    while pos + HEADER <= len(data):
        left = BLOCK - pos % BLOCK
        if left < HEADER:  # the block's tail is padding
            pos += left
            continue
        _crc, length, kind = struct.unpack("<IHB", data[pos : pos + HEADER])
        chunk = data[pos + HEADER : pos + HEADER + length]
        pos += HEADER + length
        if kind == FULL:
            out.append(chunk)
        elif kind == FIRST:
            pending = chunk
        elif kind == MIDDLE:
            pending += chunk
        elif kind == LAST:
            out.append(pending + chunk)
    return out


def _key(item: Any) -> str:
    return item.key or ".".join(item.nested_key)


def read_run(run_dir: Path) -> dict[str, Any]:
    """The offline run's id, group, config (key -> value), summary and history (merged), as wandb stored them."""
    from wandb.proto import wandb_internal_pb2 as pb

    (log,) = run_dir.glob("run-*.wandb")
    out: dict[str, Any] = {"config": {}, "summary": {}, "history": {}, "run_id": None, "group": None}
    for raw in raw_records(log):
        record = pb.Record()
        record.ParseFromString(raw)
        kind = record.WhichOneof("record_type")
        if kind == "run":
            out["run_id"], out["group"] = record.run.run_id, record.run.run_group
            out["config"].update({_key(i): json.loads(i.value_json) for i in record.run.config.update})
        elif kind == "config":
            out["config"].update({_key(i): json.loads(i.value_json) for i in record.config.update})
        elif kind == "summary":
            out["summary"].update({_key(i): json.loads(i.value_json) for i in record.summary.update})
        elif kind == "history":
            out["history"].update({_key(i): json.loads(i.value_json) for i in record.history.item})
    return out
