"""`mtharness run`: the Hydra application. The only module that composes configs for a run."""

from __future__ import annotations

import os
import re
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.errors import InstantiationException
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from mtharness.cli.configcheck import check_config_dirs, extra_config_dirs
from mtharness.cli.failures import guarded
from mtharness.cli.hydra_errors import call_hydra, check_hydra_flags
from mtharness.cli.launchers import SweepJobFailed, guarded_job, in_submitit_job, uncompleted_job_line
from mtharness.core import DEFAULT_SEED, Dataset, MtharnessError, config_dir
from mtharness.run.cache import LangIdCache, with_cache
from mtharness.run.evaluate import evaluate
from mtharness.run.folder import check_writable, finished_marker, prepare_run_dir
from mtharness.run.notes import how_to_read, no_references_line, usage_line, way_back_line
from mtharness.run.options import check_run_options
from mtharness.run.shard import (
    cache_settings,
    merge_shard_caches,
    parse_shard,
    require_cache,
    translate_shard,
    write_manifest,
)
from mtharness.run.threads import apply_threads, resolve_threads, thread_report
from mtharness.run.writer import write_run
from mtharness.scoring.metrics import KNOWN_METRIC_NAMES, metric_kind_or_none, parse_specs
from mtharness.translators.base import Translator
from mtharness.validity.notes import copy_flag, off_target_flag, run_warn_rates

_METRICS_GROUP = re.compile(r"^([+~]{0,2})metrics(@[^=]*)?=(.*)$")  # metrics=[bleu,chrF2]
_METRICS_KEY = re.compile(r"^([+~]{0,2})metrics\.([^.=]+)(\..*)$")  # metrics.chrF2.beta=3
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9+_]*(?![A-Za-z0-9+_(])")  # not choice(...), glob(...)


def _metric_option(name: str, dirs: Sequence[Path]) -> str:
    """A name in `metrics=[...]`: a metric kind, else a metrics/NAME.yaml option of a config folder."""
    kind = metric_kind_or_none(name)
    if kind is not None or name == "null" or any((d / "metrics" / f"{name}.yaml").is_file() for d in dirs):
        return kind or name
    raise MtharnessError(f"metrics={name}: unknown metric; known names: {KNOWN_METRIC_NAMES}")


def canonical_metric_overrides(argv: Sequence[str], dirs: Sequence[Path] = ()) -> list[str]:
    """Metric names in `metrics=...` and `metrics.NAME.key=...` overrides spelt as config options.

    The metrics group's options are the kinds (bleu, chrf, chrfpp, ter); users may type any name
    canonical_metric knows (chrF2, BLEU, chrF++) as they do in compare and gate; a config file of
    the group in ``dirs`` (a user's own metrics/NAME.yaml) passes through unchanged.
    """
    out = []
    for arg in argv:
        if m := _METRICS_GROUP.match(arg):
            value = _NAME.sub(lambda t: _metric_option(t.group(), dirs), m.group(3))
            arg = f"{m.group(1)}metrics{m.group(2) or ''}={value}"
        elif (m := _METRICS_KEY.match(arg)) and (kind := metric_kind_or_none(m.group(2))):
            arg = f"{m.group(1)}metrics.{kind}{m.group(3)}"
        out.append(arg)
    return out


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
        if cause is not None:
            detail = str(cause).strip().splitlines() or [""]
            raise MtharnessError(
                f"{key}: {type(cause).__name__}: {detail[0]} (from {key}._target_)"
            ) from None
        raise MtharnessError(f"{key}: {str(exc).strip().splitlines()[0]}") from None


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


def build_cached_translator(cfg: DictConfig, shard: tuple[int, int] | None) -> Translator:
    """The configured translator behind the translation cache (per shard file when cache.per_shard)."""
    cache = cfg.get("cache") or {}
    return with_cache(
        build_translator(cfg),
        bool(cache.get("enabled", False)),
        cache.get("dir"),
        **cache_settings(shard, bool(cache.get("per_shard", False))),
    )


def build_langid_cache(cfg: DictConfig) -> LangIdCache | None:
    """Language-ID labels beside the translations (the merge run's file when cache.per_shard); None if off."""
    cache = cfg.get("cache") or {}
    if not (cache.get("enabled") and cache.get("dir")):
        return None
    return LangIdCache(cache["dir"], **cache_settings(None, bool(cache.get("per_shard", False))))


def run_shard(
    cfg: DictConfig, dataset: Dataset, translator: Translator, shard: tuple[int, int], run_dir: str | Path
) -> dict[str, Any]:
    """Translate-only: the slice goes into the cache; the run without shard.* scores the whole set."""
    manifest = translate_shard(
        dataset.subset(cfg.limit),
        require_cache(translator),
        *shard,
        round_trip=bool(cfg.round_trip),
        chunk_size=int(cfg.chunk_size),
        progress=bool(cfg.progress),
    )
    return write_manifest(manifest, run_dir)


def run_seed(value: Any) -> int:
    """The run's `seed` key: null means core.DEFAULT_SEED (sacrebleu's), anything else an integer."""
    if value is None:
        return DEFAULT_SEED
    if isinstance(value, bool) or not isinstance(value, int):
        raise MtharnessError(f"seed={value!r}: must be an integer (or null for {DEFAULT_SEED})")
    return value


def run_from_config(cfg: DictConfig, run_dir: str | Path) -> dict[str, Any]:
    """Compose-free core of `mtharness run`: tests call this with a composed config."""
    opts = check_run_options(cfg)
    cfg.seed = run_seed(cfg.get("seed"))  # recorded in scores.json; report/compare resample with it
    container: dict[str, Any] = OmegaConf.to_container(cfg, resolve=True)  # type: ignore[assignment]
    shard = parse_shard(opts["shard.index"], opts["shard.count"])
    # never two runs' files in one folder (Hydra's own files in it are this run's)
    prepare_run_dir(run_dir, opts["overwrite"], keep_hydra=True)
    dataset = build_dataset(cfg)
    translator = build_cached_translator(cfg, shard)
    if shard is not None:
        return run_shard(cfg, dataset, translator, shard, run_dir)
    cache = cfg.get("cache") or {}
    merged = None
    if cache.get("per_shard") and cache.get("enabled") and cache.get("dir"):
        merged = merge_shard_caches(cache["dir"])  # before translating: the shards' work becomes hits
    result = evaluate(
        dataset,
        translator,
        parse_specs(container.get("metrics")),
        round_trip=opts["round_trip"],
        limit=opts["limit"],
        chunk_size=opts["chunk_size"],
        progress=opts["progress"],
        config=container,
        validity=container.get("validity") or {},
        langid_cache=build_langid_cache(cfg),
        score_cache_dir=cache["dir"] if cache.get("enabled") and cache.get("dir") else None,
    )
    result.extras["threads"] = thread_report()
    if merged is not None:
        result.extras["cache_merge"] = merged
    return write_run(result, run_dir)


def format_summary(payload: dict[str, Any]) -> str:
    ds = payload["dataset"]
    if "shard" in payload:
        shard = payload["shard"]
        return (
            f"shard {shard['index']}/{shard['count']}: {payload['translator'].get('name')} translated "
            f"{payload['n_segments']} of {ds['n_segments_total']} segments of {ds['name']} ({ds['pair']}) "
            f"into the cache; not scored (run without shard.* to score the whole set)\n"
            f"results: {payload['run_dir']}"
        )
    lines = [
        f"{payload['translator'].get('name')} on {ds['name']} ({ds['pair']}), {payload['n_segments']} segments",
    ]
    for direction, metrics in payload["scores"].items():
        cells = "  ".join(f"{name} {m['score']:6.2f}" for name, m in metrics.items())
        if direction == "forward" and not metrics:
            cells = no_references_line(payload) or ""
        lines.append(f"  {direction:<10} {cells}")
    if (back := way_back_line(payload.get("translator"))) and "round_trip" in payload["scores"]:
        lines.append(f"  way back   {back}")
    warn = run_warn_rates(payload.get("config"))
    copying = copy_flag(payload["copy_rate"], warn.copy_rate)
    lines.append(f"  copy_rate  {payload['copy_rate']:.3f}" + (f"  <- {copying}" if copying else ""))
    if "off_target_rate" in payload:
        rate = payload["off_target_rate"]
        off = off_target_flag(rate, warn.off_target_rate)
        shown = "undetermined" if rate is None else f"{rate:.3f}"
        lines.append(
            f"  off_target {shown} (target {payload['dataset']['tgt_lang']})" + (f"  <- {off}" if off else "")
        )
    if usage := usage_line(payload.get("usage")):
        lines.append(f"  usage      {usage}")
    if "round_trip" in payload["scores"]:
        lines.append(textwrap.fill(how_to_read(payload), width=100, initial_indent="", subsequent_indent=""))
    lines.append(f"results: {payload['run_dir']}")
    return "\n".join(lines)


def parallel_launcher(hydra_cfg: Any) -> bool:
    """True when this job may run beside others (a multirun with any launcher but Hydra's serial one)."""
    target = str(OmegaConf.select(hydra_cfg, "launcher._target_", default=""))
    return bool(hydra_cfg.mode == RunMode.MULTIRUN) and not target.endswith("BasicLauncher")


INTERRUPTED = (
    "; no scores.json written; finished chunks are kept in the translation cache, so a rerun continues there"
)


def guard_folder(config: DictConfig, key: str) -> None:
    """Before Hydra writes into the run folder: values checked, a finished run kept (unless overwrite), the
    folder writable. A run that fails here leaves no trace (no folder, no .hydra/ over another run's)."""
    opts = check_run_options(config)
    run_dir = Path(str(OmegaConf.select(config, key)))
    prepare_run_dir(run_dir, opts["overwrite"])
    check_writable(run_dir)


class RunFolderGuard(Callback):
    """Hydra callback (configs/evaluate.yaml, hydra.callbacks): the run folder checks, before Hydra's own
    files land there."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        try:
            guarded("run", lambda: guard_folder(config, "hydra.run.dir"))
        except OmegaConfBaseException:
            return  # an unresolvable interpolation: Hydra reports it next, as one line (call_hydra)

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        def check() -> None:
            opts = check_run_options(config)
            sweep = Path(str(OmegaConf.select(config, "hydra.sweep.dir")))
            done = [p for p in sorted(sweep.glob("*")) if p.is_dir() and finished_marker(p)]
            if done and not opts["overwrite"]:
                raise MtharnessError(
                    f"sweep folder {sweep} already holds finished runs ({done[0].name}, ...); choose another "
                    "folder (hydra.sweep.dir=...) or pass overwrite=true to replace them"
                )

        try:
            guarded("run", check)
        except OmegaConfBaseException:
            return


@hydra.main(config_path=str(config_dir()), config_name="evaluate", version_base="1.3")
def _hydra_app(cfg: DictConfig) -> None:
    hydra_cfg = HydraConfig.get()
    run_dir = hydra_cfg.runtime.output_dir

    def job() -> dict[str, Any]:
        threads = check_run_options(cfg)["threads"]
        apply_threads(resolve_threads(threads, os.environ, parallel_launcher(hydra_cfg)))
        return run_from_config(cfg, run_dir)

    # in a submitit job a SystemExit would end the job before submitit reports back: guarded_job
    payload = guarded_job(job) if in_submitit_job(hydra_cfg) else guarded("run", job, INTERRUPTED)
    print(format_summary(payload))


def main(argv: Sequence[str]) -> int:
    if any(a in ("-h", "--help") for a in argv) and "--hydra-help" not in argv:
        print(
            "usage: mtharness run [key=value ...] [-m key=a,b ...]\n\n"
            "Composes configs/evaluate.yaml with Hydra. Groups: dataset, translator, metrics, validity, experiment.\n"
            "  mtharness run                                  # bundled sample, Apertium en->es->en\n"
            "  mtharness run translator=echo limit=20\n"
            "  mtharness run -m translator=echo,apertium      # multirun sweep\n"
            "  mtharness run --cfg job                        # print the composed config\n"
            f"Config folder: {config_dir()}"
        )
        return 0
    check_hydra_flags(argv)
    dirs = [config_dir(), *extra_config_dirs(argv)]
    argv = canonical_metric_overrides(argv, dirs)
    check_config_dirs(dirs)
    sys.argv = ["mtharness run", *argv]
    try:
        call_hydra(_hydra_app)
    except SweepJobFailed as failed:  # a submitit job failed: its one line, its exit code
        print(failed.message, file=sys.stderr)
        return int(failed.code or 1)
    except Exception as exc:  # a job SLURM killed (time limit, memory, scancel): no result came back
        line = None if os.environ.get("HYDRA_FULL_ERROR") == "1" else uncompleted_job_line(exc, argv)
        if line is None:
            raise
        print(line, file=sys.stderr)
        return 1
    return 0
