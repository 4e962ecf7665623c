"""`mtharness run`: the Hydra application. The only module that composes configs for a run."""

from __future__ import annotations

import os
import random
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from mtharness.cache import with_cache
from mtharness.core import Dataset, MtharnessError
from mtharness.metrics import parse_specs
from mtharness.reports import write_run
from mtharness.runner import evaluate
from mtharness.translators.base import Translator


def config_dir() -> Path:
    """configs/ shipped in the wheel, else the checkout's top-level configs/ (editable install)."""
    env = os.environ.get("MTHARNESS_CONFIGS")
    if env:
        return Path(env).resolve()
    packaged = Path(__file__).resolve().parent / "configs"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "configs"


def instantiate_node(node: DictConfig, key: str) -> Any:
    """hydra.utils.instantiate, with our own errors surfacing as their one line (not Hydra's wrapper)."""
    try:
        return instantiate(node, _convert_="all")
    except InstantiationException as exc:
        cause = exc.__cause__
        if isinstance(cause, MtharnessError):
            raise cause from None
        if isinstance(cause, TypeError):
            raise MtharnessError(f"{key}: {cause} (check the keys under {key}.*)") from None
        raise MtharnessError(f"{key}: {str(exc).splitlines()[-1]}") from None


def build_dataset(cfg: DictConfig) -> Dataset:
    dataset = instantiate_node(cfg.dataset, "dataset")
    if not isinstance(dataset, Dataset):
        raise MtharnessError(f"dataset._target_ {cfg.dataset.get('_target_')} did not return a Dataset")
    return dataset


def build_translator(cfg: DictConfig) -> Translator:
    translator = instantiate_node(cfg.translator, "translator")
    if not isinstance(translator, Translator):
        raise MtharnessError(f"translator._target_ {cfg.translator.get('_target_')} is not a Translator")
    return translator


def run_from_config(cfg: DictConfig, run_dir: str | Path) -> dict[str, Any]:
    """Compose-free core of `mtharness run`: tests call this with a composed config."""
    random.seed(cfg.seed)
    container: dict[str, Any] = OmegaConf.to_container(cfg, resolve=True)  # type: ignore[assignment]
    dataset = build_dataset(cfg)
    cache = cfg.get("cache") or {}
    translator = with_cache(build_translator(cfg), bool(cache.get("enabled", False)), cache.get("dir"))
    result = evaluate(
        dataset,
        translator,
        parse_specs(container.get("metrics")),
        round_trip=bool(cfg.round_trip),
        limit=cfg.limit,
        chunk_size=int(cfg.chunk_size),
        progress=bool(cfg.progress),
        config=container,
    )
    return write_run(result, run_dir)


def format_summary(payload: dict[str, Any]) -> str:
    ds = payload["dataset"]
    lines = [
        f"{payload['translator'].get('name')} on {ds['name']} ({ds['pair']}), {payload['n_segments']} segments",
    ]
    for direction, metrics in payload["scores"].items():
        cells = "  ".join(f"{name} {m['score']:6.2f}" for name, m in metrics.items())
        lines.append(f"  {direction:<10} {cells}")
    warn = "  <- copies its input: round-trip scores are meaningless" if payload["copy_rate"] > 0.5 else ""
    lines.append(f"  copy_rate  {payload['copy_rate']:.3f}{warn}")
    lines.append(f"results: {payload['run_dir']}")
    return "\n".join(lines)


@hydra.main(config_path=str(config_dir()), config_name="evaluate", version_base="1.3")
def _hydra_app(cfg: DictConfig) -> None:
    run_dir = HydraConfig.get().runtime.output_dir
    try:
        payload = run_from_config(cfg, run_dir)
    except MtharnessError as exc:
        print(f"mtharness run: error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    print(format_summary(payload))


def main(argv: Sequence[str]) -> int:
    if any(a in ("-h", "--help") for a in argv) and "--hydra-help" not in argv:
        print(
            "usage: mtharness run [key=value ...] [-m key=a,b ...]\n\n"
            "Composes configs/evaluate.yaml with Hydra. Groups: dataset, translator, metrics, experiment.\n"
            "  mtharness run                                  # bundled sample, Apertium en->es->en\n"
            "  mtharness run translator=echo limit=20\n"
            "  mtharness run -m translator=echo,apertium      # multirun sweep\n"
            "  mtharness run --cfg job                        # print the composed config\n"
            f"Config folder: {config_dir()}"
        )
        return 0
    sys.argv = ["mtharness run", *argv]
    _hydra_app()
    return 0
