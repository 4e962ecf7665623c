"""COMET worker: runs with the managed environment's python, never imported by the harness.

It imports only the standard library and unbabel-comet (mtharness is not installed there). Started
once per metric and run by ``mtharness.scoring.comet.CometWorker``; it loads the checkpoint once and
answers JSON lines on stdin/stdout:

    startup -> {"ready": true, "checkpoint": path, "comet_version": v, "input_segments": [...], ...}
    {"data": [{"src": .., "mt": .., "ref": ..}, ...], "via": "shared"|"predict" (optional)}
            -> {"scores": [...], "system_score": x, "model_calls": n, "segments_scored": m,
                "via": "shared"|"predict", "texts_encoded": k}
               (xCOMET models add "error_spans": per segment [{text, start, end, severity, confidence}])
    EOF on stdin -> exit 0

Estimator-style models (``RegressionMetric``: COMET such as wmt22-comet-da; its subclass
``ReferencelessRegression``: the older COMET-QE) embed src, mt and ref separately and only then join
the three sentence embeddings in a feed-forward estimator. For them the worker encodes each DISTINCT
string of a request once (a source or reference shared by N systems is encoded once, not N times as
``predict()`` does), with the model's own ``encoder.prepare_sample`` and ``get_sentence_embedding``,
length-sorted and batched, and then runs the model's own ``forward`` with the embeddings looked up,
so the estimator is the model's. Scores equal ``predict()``'s to float rounding (padding differs).
``UnifiedMetric`` models (CometKiwi wmt22/23, xCOMET) encode mt, src and ref joined in ONE input, so
there is no per-sentence encoding to share: they go through ``predict()`` (which length-sorts and
batches); the scorer has already removed duplicate (src, mt, ref) items. A request with
``"via": "predict"`` forces ``predict()`` (the benchmark and tests compare the two); the answer says
which path it took (``"via"``). Anything a library prints goes to stderr: stdout carries the
protocol only. Errors are one JSON line {"error": "..."}.
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


def shares_encodings(model: Any) -> bool:
    """Estimator-style models: src, mt and ref are encoded apart, so their embeddings can be shared."""
    from comet.models import RegressionMetric

    return isinstance(model, RegressionMetric) and not getattr(model, "mc_dropout", 0)


ESTIMATOR_BATCH = 1024  # items per estimator call: it reads embeddings only, so a big batch is cheap


def score_shared(
    model: Any, data: list[dict[str, str]], batch_size: int, device: str
) -> tuple[list[float], int]:
    """Scores of ``data`` with each distinct text encoded once; and how many texts were encoded.

    Embeddings come from the model's own tokenization (encoder.prepare_sample's settings) and
    ``get_sentence_embedding``; the estimator is the model's own ``forward``, fed with a lookup in
    place of the encoder, so nothing of the scoring head is re-implemented here.
    """
    import torch

    fields = [f for f in ("src", "mt", "ref") if f in data[0]]
    texts = list(dict.fromkeys(str(item[f]) for item in data for f in fields))
    index = {t: i for i, t in enumerate(texts)}
    model.eval()
    model.to(device)
    table = _embed(model, texts, batch_size, device)

    def lookup(input_ids: Any, attention_mask: Any, token_type_ids: Any = None) -> Any:
        return table[input_ids[:, 0]]

    model.get_sentence_embedding = lookup  # forward() asks the table, not the encoder
    scores: list[float] = []
    try:
        with torch.inference_mode():
            for lo in range(0, len(data), ESTIMATOR_BATCH):
                part = data[lo : lo + ESTIMATOR_BATCH]
                inputs: dict[str, Any] = {}
                for f in fields:
                    ids = torch.tensor([[index[str(item[f])]] for item in part], device=device)
                    inputs[f"{f}_input_ids"], inputs[f"{f}_attention_mask"] = ids, torch.ones_like(ids)
                scores += [float(x) for x in model(**inputs).score.view(-1).tolist()]
    finally:
        del model.get_sentence_embedding  # the class's method again
    return scores, len(texts)


def _embed(model: Any, texts: list[str], batch_size: int, device: str) -> Any:
    """Sentence embeddings of ``texts`` (rows in order), computed in batches of similar length."""
    import torch

    tokenizer = model.encoder.tokenizer
    # the same tokenization as encoder.prepare_sample: truncation at max_positions - 2
    encoded = tokenizer(texts, truncation=True, max_length=model.encoder.max_positions - 2)
    lengths = [len(ids) for ids in encoded["input_ids"]]
    order = sorted(range(len(texts)), key=lambda i: lengths[i])
    table: Any = None
    with torch.inference_mode():
        for lo in range(0, len(order), batch_size):
            rows = order[lo : lo + batch_size]
            batch = tokenizer.pad(
                {k: [encoded[k][i] for i in rows] for k in ("input_ids", "attention_mask")},
                return_tensors="pt",
            )
            emb = model.get_sentence_embedding(
                batch["input_ids"].to(device), batch["attention_mask"].to(device)
            )
            if table is None:
                table = torch.empty((len(texts), emb.shape[-1]), dtype=emb.dtype, device=device)
            table[torch.tensor(rows, device=device)] = emb
    return table


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
        request = json.loads(line)
        data = request["data"]
        calls += 1
        scored += len(data)
        answer: dict[str, Any] = {"model_calls": calls, "segments_scored": scored}
        if data and request.get("via") != "predict" and shares_encodings(model):
            scores, encoded = score_shared(model, data, args.batch_size, args.device)
            answer.update(via="shared", texts_encoded=encoded)
        else:
            pred = model.predict(data, batch_size=args.batch_size, progress_bar=False, **predict_args)
            scores = [float(x) for x in pred.scores]
            answer.update(via="predict", texts_encoded=sum(len(item) for item in data))
            spans = _spans(pred)
            if spans is not None:
                answer["error_spans"] = spans
        answer["scores"] = scores
        answer["system_score"] = sum(scores) / len(scores) if scores else 0.0  # predict()'s definition
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
