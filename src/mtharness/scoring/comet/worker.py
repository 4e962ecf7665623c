"""COMET worker: runs with the managed environment's python, never imported by the harness.

It imports only the standard library and unbabel-comet (mtharness is not installed there). Started
once per metric and run by ``mtharness.scoring.comet.CometWorker``; it loads the checkpoint once and
answers JSON lines on stdin/stdout:

    startup -> {"ready": true, "checkpoint": path, "comet_version": v, "input_segments": [...], ...}
    {"data": [{"src": .., "mt": .., "ref": ..}, ...]}
            -> {"scores": [...], "system_score": x, "model_calls": n, "segments_scored": m}
               (xCOMET models add "error_spans": per segment [{text, start, end, severity, confidence}])
    EOF on stdin -> exit 0

Scores come from the model's own ``predict()`` (same batch size, device and length batching as a
direct call), so they equal what unbabel-comet gives for the same inputs. Anything a library prints
goes to stderr: stdout carries the protocol only. Errors are one JSON line {"error": "..."}.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import warnings
from pathlib import Path
from typing import Any, TextIO

OFFLINE_HINT = (
    "offline or not on the hub: set it to a local checkpoint (the folder a hub "
    "download makes, with checkpoints/model.ckpt, or that .ckpt file)"
)


def _protocol_stream() -> TextIO:
    """A private copy of stdout for the protocol; fd 1 then points at stderr for library chatter."""
    proto = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return proto


def _send(out: TextIO, obj: dict[str, Any]) -> None:
    out.write(json.dumps(obj) + "\n")
    out.flush()


def _checkpoint(model: str) -> str:
    """A local .ckpt, a hub download folder, or a hub id (downloaded or read from the hub cache)."""
    path = Path(model).expanduser()
    if path.is_file():
        return str(path)
    if path.is_dir():
        ckpt = path / "checkpoints" / "model.ckpt"
        if not ckpt.is_file():
            raise FileNotFoundError(f"{path} has no checkpoints/model.ckpt")
        return str(ckpt)
    if model.startswith((".", "/", "~")) or model.endswith(".ckpt"):
        raise FileNotFoundError(f"checkpoint {model} does not exist")
    from comet import download_model

    try:
        return str(download_model(model))
    except Exception as exc:  # hub errors vary by version: keep the cause, add the way out
        cause = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
        raise RuntimeError(f"hub model {model!r} could not be loaded ({cause}); {OFFLINE_HINT}") from None


def _quiet() -> None:
    warnings.filterwarnings("ignore")
    for name in ("pytorch_lightning", "lightning", "lightning.pytorch", "lightning_fabric", "comet"):
        logging.getLogger(name).setLevel(logging.ERROR)


def _predict_args(device: str) -> dict[str, Any]:
    if device == "cpu":
        return {"gpus": 0, "accelerator": "cpu"}
    index = int(device.split(":", 1)[1]) if ":" in device else 0
    return {"gpus": 1, "devices": [index], "accelerator": "gpu"}


def _spans(pred: Any) -> list[list[dict[str, Any]]] | None:
    """predict()'s metadata.error_spans as plain JSON (xCOMET); None for models without spans."""
    metadata = getattr(pred, "metadata", None)
    spans = metadata.get("error_spans") if metadata is not None else None
    if spans is None:
        return None
    return [
        [
            {
                "text": str(sp["text"]),
                "start": int(sp["start"]),
                "end": int(sp["end"]),
                "severity": str(sp["severity"]),
                "confidence": float(sp["confidence"]),
            }
            for sp in segment
        ]
        for segment in spans
    ]


def serve(args: argparse.Namespace, out: TextIO) -> int:
    from importlib import metadata

    from comet import load_from_checkpoint

    try:
        ckpt = _checkpoint(args.model)
        model = load_from_checkpoint(ckpt)
    except Exception as exc:
        _send(out, {"error": (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]})
        return 3
    hparams = getattr(model, "hparams", {})
    _send(
        out,
        {
            "ready": True,
            "checkpoint": ckpt,
            "comet_version": metadata.version("unbabel-comet"),
            "model_class": type(model).__name__,
            "input_segments": list(hparams.get("input_segments") or []),
            "pid": os.getpid(),
        },
    )
    calls = scored = 0
    predict_args = _predict_args(args.device)
    for line in sys.stdin:
        if not line.strip():
            continue
        data = json.loads(line)["data"]
        pred = model.predict(data, batch_size=args.batch_size, progress_bar=False, **predict_args)
        calls += 1
        scored += len(data)
        answer: dict[str, Any] = {
            "scores": [float(x) for x in pred.scores],
            "system_score": float(pred.system_score),
            "model_calls": calls,
            "segments_scored": scored,
        }
        spans = _spans(pred)
        if spans is not None:
            answer["error_spans"] = spans
        _send(out, answer)
    return 0


def main() -> int:
    # this file sits beside mtharness/scoring/comet.py, which would shadow unbabel-comet's `comet`
    here = str(Path(__file__).resolve().parent)
    sys.path[:] = [p for p in sys.path if p and str(Path(p).resolve()) != here]
    out = _protocol_stream()
    p = argparse.ArgumentParser(prog="comet_worker")
    p.add_argument("--model", required=True)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--device", default="cpu")
    args = p.parse_args()
    _quiet()
    return serve(args, out)


if __name__ == "__main__":
    sys.exit(main())
