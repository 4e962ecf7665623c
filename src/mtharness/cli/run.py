"""`mtharness run`: the Hydra application. The only module that composes configs for a run."""

from __future__ import annotations

import os
import re
import sys
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.errors import InstantiationException
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf, open_dict
from omegaconf.errors import OmegaConfBaseException

from mtharness.cli.configcheck import check_config_dirs, extra_config_dirs
from mtharness.cli.failures import guarded
from mtharness.cli.hydra_errors import call_hydra, check_hydra_flags
from mtharness.cli.hydra_errors import one_line as hydra_one_line
from mtharness.cli.launchers import (
    SweepJobFailed,
    basic_sweep,
    guarded_job,
    in_submitit_job,
    sweep_job,
    sweep_summary,
    uncompleted_job_line,
)
from mtharness.cli.pathnames import check_under_results  # registers ${safe_name:...} for the configs
from mtharness.cli.secrets import check_overrides, mask_logs, redact_tree
from mtharness.cli.sweep import check_tracker, track_run
from mtharness.core import Dataset, MtharnessError
from mtharness.host import config_dir
from mtharness.run.cache import LangIdCache, with_cache
from mtharness.run.evaluate import run_settings
from mtharness.run.folder import HYDRA_FILES, check_writable, finished_marker, prepare_run_dir, record_files
from mtharness.run.lock import lock_and_check, lock_run_dir, unlock_run_dir
from mtharness.run.metric_use import metric_use_lines
from mtharness.run.notes import (
    how_to_read,
    judge_failures_cell,
    judge_lines,
    no_references_line,
    usage_line,
    way_back_line,
)
from mtharness.run.options import flag
from mtharness.run.record import RunRecord
from mtharness.run.settings import RunSettings
from mtharness.run.shard import (
    cache_settings,
    merge_shard_caches,
    require_cache,
    translate_shard,
    write_manifest,
)
from mtharness.run.threads import apply_threads, resolve_threads, thread_report
from mtharness.run.writer import write_run
from mtharness.scoring.metrics import KNOWN_METRIC_NAMES, metric_kind_or_none
from mtharness.textio import arrow
from mtharness.translators.base import Translator, close_translator
from mtharness.validity.notes import WarnRates, copy_flag, off_target_flag, run_warn_rates

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


def build_cached_translator(cfg: DictConfig, settings: RunSettings) -> Translator:
    """The configured translator behind the translation cache (per shard file when cache.per_shard)."""
    cache = settings.cache
    return with_cache(
        build_translator(cfg), cache.enabled, cache.dir, **cache_settings(settings.shard, cache.per_shard)
    )


def build_langid_cache(settings: RunSettings) -> LangIdCache | None:
    """Language-ID labels beside the translations (the merge run's file when cache.per_shard); None if off."""
    folder = settings.cache.active_dir
    if folder is None:
        return None
    return LangIdCache(folder, **cache_settings(None, settings.cache.per_shard))


def run_shard(
    settings: RunSettings,
    dataset: Dataset,
    translator: Translator,
    shard: tuple[int, int],
    run_dir: str | Path,
) -> dict[str, Any]:
    """Translate-only: the slice goes into the cache; the run without shard.* scores the whole set."""
    manifest = translate_shard(
        dataset.subset(settings.limit),
        require_cache(translator),
        *shard,
        round_trip=settings.round_trip,
        chunk_size=settings.chunk_size,
        progress=settings.progress,
    )
    payload = write_manifest(manifest, run_dir)
    record_files(run_dir, [Path(run_dir) / "shard.json"])
    return payload


def settings_of(cfg: DictConfig) -> RunSettings:
    """The run's settings from its composed config (Hydra's own node left out), checked once."""
    node = cfg.copy()
    with open_dict(node):
        node.pop("hydra", None)
    container: dict[str, Any] = OmegaConf.to_container(node, resolve=True)  # type: ignore[assignment]
    return RunSettings.from_config(redact_tree(container))  # recorded in scores.json: credentials masked


def run_from_config(
    cfg: DictConfig, run_dir: str | Path, settings: RunSettings | None = None, prepare: bool = True
) -> RunRecord | dict[str, Any]:
    """Compose-free core of `mtharness run` (tests call this with a composed config): the run's record,
    or a shard run's manifest. ``settings`` already built (by the folder guard) are not built again;
    ``prepare=False`` when the guard has already prepared the folder."""
    settings = settings or settings_of(cfg)
    took_lock = lock_run_dir(run_dir)  # a sweep's job folder; a single run's guard holds it already
    try:
        return _locked_run(cfg, run_dir, settings, prepare)
    finally:
        if took_lock:
            unlock_run_dir(run_dir)


def _locked_run(
    cfg: DictConfig, run_dir: str | Path, settings: RunSettings, prepare: bool
) -> RunRecord | dict[str, Any]:
    if prepare:  # never two runs' files in one folder (Hydra's own files in it are this run's)
        prepare_run_dir(run_dir, settings.overwrite, keep_hydra=True)
    # Hydra's files are this run's: listed first, so even a crashed run's folder can be replaced later
    record_files(run_dir, [Path(run_dir) / name for name in HYDRA_FILES])
    dataset = build_dataset(cfg)
    translator = build_cached_translator(cfg, settings)
    try:
        if settings.shard is not None:
            return run_shard(settings, dataset, translator, settings.shard, run_dir)
        merged = None
        if settings.cache.per_shard and settings.cache.active_dir:
            # before translating: the shards' work becomes hits
            merged = merge_shard_caches(settings.cache.active_dir)
        result = run_settings(dataset, translator, settings, build_langid_cache(settings))
        result.threads = thread_report()
        result.cache_merge = merged
        return write_run(result, run_dir, settings.warn)
    finally:  # inside the command, where a Ctrl-C while processes stop is one line, exit 130
        close_translator(translator)


def format_shard_summary(manifest: Mapping[str, Any]) -> str:
    ds, shard = manifest["dataset"], manifest["shard"]
    return (
        f"shard {shard['index']}/{shard['count']}: {manifest['translator'].get('name')} translated "
        f"{manifest['n_segments']} of {ds['n_segments_total']} segments of {ds['name']} ({ds['pair']}) "
        f"into the cache; not scored (run without shard.* to score the whole set)\n"
        f"results: {manifest['run_dir']}"
    )


def format_summary(record: RunRecord | Mapping[str, Any], warn: WarnRates | None = None) -> str:
    """The terminal summary of a finished run (or of a shard run's manifest); ``warn``: the run's warn
    rates (RunSettings.warn), else read from the record's config."""
    if not isinstance(record, RunRecord):
        return format_shard_summary(record)
    ds = record.dataset
    lines = [f"{record.name} on {ds.name} ({ds.pair}), {record.n_segments} segments"]
    for d in record.directions:
        cells = "  ".join(
            f"{name} {arrow(m.higher_is_better)} {m.format():>6}{judge_failures_cell(record, d.direction, name)}"
            for name, m in d.scores.items()
        )
        if d.direction == "forward" and not d.scores:
            cells = no_references_line(record) or ""
        lines.append(f"  {d.direction:<10} {cells}")
    if record.round_trip is not None and (back := way_back_line(record.translator)):
        lines.append(f"  way back   {back}")
    for i, use in enumerate(metric_use_lines(record)):  # which metric scored what (references or QE)
        lines.append(f"  {'scored' if i == 0 else '':<10} {use}")
    warn = warn or run_warn_rates(record.config)
    if record.copy_rate is not None:
        copying = copy_flag(record.copy_rate, warn.copy_rate)
        lines.append(f"  copy_rate  {record.copy_rate:.3f}" + (f"  <- {copying}" if copying else ""))
    if record.off_target_measured:
        rate = record.off_target_rate
        off = off_target_flag(rate, warn.off_target_rate)
        shown = "undetermined" if rate is None else f"{rate:.3f}"
        lines.append(f"  off_target {shown} (target {ds.tgt_lang})" + (f"  <- {off}" if off else ""))
    if usage := usage_line(record.usage):
        lines.append(f"  usage      {usage}")
    lines += [f"  judge      {line}" for line in judge_lines(record)]
    if record.round_trip is not None:
        lines.append(textwrap.fill(how_to_read(record), width=100, initial_indent="", subsequent_indent=""))
    lines.append(f"results: {record.run_dir}")
    return "\n".join(lines)


def parallel_launcher(hydra_cfg: Any) -> bool:
    """True when this job may run beside others (a multirun with any launcher but Hydra's serial one)."""
    target = str(OmegaConf.select(hydra_cfg, "launcher._target_", default=""))
    return bool(hydra_cfg.mode == RunMode.MULTIRUN) and not target.endswith("BasicLauncher")


INTERRUPTED = (
    "; no scores.json written; finished chunks are kept in the translation cache, so a rerun continues there"
)


# settings the folder guard built for a run folder, taken by that run's job (same process, Hydra run
# mode): the config is checked once per run, not again in the job
_GUARDED: dict[str, RunSettings] = {}


def guard_folder(config: DictConfig, key: str) -> RunSettings:
    """Before Hydra writes into the run folder: values checked, a finished run kept (unless overwrite), the
    folder writable. A run that fails here leaves no trace (no folder, no .hydra/ over another run's)."""
    settings = settings_of(config)
    run_dir = Path(str(OmegaConf.select(config, key)))
    check_under_results(config, run_dir)

    # locked until the run's process ends; a refusal leaves no trace (no lock file, no new folder)
    def check() -> None:
        prepare_run_dir(run_dir, settings.overwrite)
        check_writable(run_dir)

    lock_and_check(run_dir, check)
    return settings


class RunFolderGuard(Callback):
    """Hydra callback (configs/evaluate.yaml, hydra.callbacks): the run folder checks, before Hydra's own
    files land there."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        def check() -> None:
            key = str(Path(str(OmegaConf.select(config, "hydra.run.dir"))).resolve())
            _GUARDED[key] = guard_folder(config, "hydra.run.dir")

        try:
            guarded("run", check)
        except OmegaConfBaseException:
            return  # an unresolvable interpolation: Hydra reports it next, as one line (call_hydra)

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        def check() -> None:
            # only what the sweep as a whole decides: each job's settings (a swept shard.index, say)
            # are checked by the job itself
            overwrite = flag(OmegaConf.select(config, "overwrite"), "overwrite")
            sweep = Path(str(OmegaConf.select(config, "hydra.sweep.dir")))
            done = [p for p in sorted(sweep.glob("*")) if p.is_dir() and finished_marker(p)]
            if done and not overwrite:
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
    mask_logs()

    def job() -> tuple[RunRecord | dict[str, Any], RunSettings]:
        try:
            # a single run was checked (and its folder prepared) by RunFolderGuard; a sweep's job here
            settings = _GUARDED.pop(str(Path(run_dir).resolve()), None)
            prepared = settings is not None
            settings = settings or settings_of(cfg)
            check_tracker(cfg)
            apply_threads(resolve_threads(settings.threads, os.environ, parallel_launcher(hydra_cfg)))
            outcome = run_from_config(cfg, run_dir, settings, prepare=not prepared)
        except OmegaConfBaseException as exc:  # an unresolvable ${...}: our one line, not Hydra's extra one
            raise MtharnessError(hydra_one_line(exc)) from None
        if isinstance(outcome, RunRecord):  # the folder is complete: only now does a tracker see it
            track_run(cfg, run_dir, hydra_cfg)
        return outcome, settings

    # in a submitit job a SystemExit would end the job before submitit reports back: guarded_job
    if in_submitit_job(hydra_cfg):
        outcome, settings = guarded_job(job)
    elif basic_sweep(hydra_cfg):  # every job runs; the failures are listed at the end
        found = sweep_job(hydra_cfg, job)  # Ctrl-C still ends the sweep
        if found is None:
            return
        outcome, settings = found
    else:
        outcome, settings = guarded("run", job, INTERRUPTED)
    print(format_summary(outcome, settings.warn))


def main(argv: Sequence[str]) -> int:
    if any(a in ("-h", "--help") for a in argv) and "--hydra-help" not in argv:
        print(
            "usage: mtharness run [key=value ...] [-m key=a,b ...]\n\n"
            "Composes configs/evaluate.yaml with Hydra. Groups: dataset, translator, metrics, validity, tracker, experiment.\n"
            "  mtharness run                                  # bundled sample, Apertium en->es->en\n"
            "  mtharness run translator=echo limit=20\n"
            "  mtharness run -m translator=echo,apertium      # multirun sweep\n"
            "  mtharness run --cfg job                        # print the composed config\n"
            f"Config folder: {config_dir()}"
        )
        return 0
    check_hydra_flags(argv)
    check_overrides(argv)  # before Hydra writes .hydra/*.yaml: a pasted key refused, any other masked
    dirs = [config_dir(), *extra_config_dirs(argv)]
    argv = canonical_metric_overrides(argv, dirs)
    check_config_dirs(dirs)
    sys.argv = ["mtharness run", *argv]
    try:
        call_hydra(_hydra_app)
        if code := sweep_summary():
            return code
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
