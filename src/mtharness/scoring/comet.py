"""COMET (unbabel-comet) as an optional forward metric, behind a lazy import.

unbabel-comet pins transformers<5 and huggingface_hub<1, so it cannot live in the main environment
(transformers 5); install it in its own venv (README, "Round-trip validity"). COMET scores drift across
package versions, models and batch sizes: all of them travel with the score.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from mtharness.core import MetricResult, MtharnessError

COMET_NAME = "COMET"


@dataclass(frozen=True)
class CometConfig:
    enabled: bool = False
    model: str = "Unbabel/wmt22-comet-da"  # a hub id (needs its cached copy offline) or a local .ckpt path
    batch_size: int = 8
    device: str = "cpu"  # cpu, or cuda


def require_comet() -> Any:
    try:
        import comet
    except ImportError:
        raise MtharnessError(
            "COMET needs unbabel-comet, which conflicts with transformers 5 here: install "
            "'mtharness[comet]' in its own venv (see README, Round-trip validity), or validity.comet.enabled=false"
        ) from None
    return comet


def load_model(cfg: CometConfig) -> tuple[Any, str]:
    """The COMET model and the checkpoint path it was loaded from."""
    comet = require_comet()
    try:
        path = cfg.model if Path(cfg.model).is_file() else comet.download_model(cfg.model)
        return comet.load_from_checkpoint(path), str(path)
    except Exception as exc:  # network, missing file, bad checkpoint: one line with the cause
        raise MtharnessError(
            f"validity.comet.model {cfg.model!r} could not be loaded ({str(exc).splitlines()[0][:160]}); "
            "offline, give the path of a downloaded checkpoint (.../checkpoints/model.ckpt)"
        ) from None


def comet_score(
    sources: Sequence[str], hyps: Sequence[str], refs: Sequence[str], cfg: CometConfig
) -> tuple[MetricResult, list[float]]:
    """Corpus (mean) and segment COMET of ``hyps`` against the first reference stream."""
    model, path = load_model(cfg)
    data = [{"src": s, "mt": h, "ref": r} for s, h, r in zip(sources, hyps, refs, strict=True)]
    out = model.predict(data, batch_size=cfg.batch_size, gpus=1 if cfg.device.startswith("cuda") else 0)
    version = metadata.version("unbabel-comet")
    signature = f"model:{cfg.model}|comet:{version}|batch:{cfg.batch_size}|device:{cfg.device}|nrefs:1"
    extra = {
        "model": cfg.model,
        "checkpoint": path,
        "package_version": version,
        "batch_size": cfg.batch_size,
        "device": cfg.device,
    }
    result = MetricResult(COMET_NAME, float(out.system_score), signature, True, extra)
    return result, [round(float(x), 6) for x in out.scores]
