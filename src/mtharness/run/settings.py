"""A run's settings, built once from the (Hydra) config and validated once.

`mtharness run` builds :class:`RunSettings` from the composed config before Hydra writes anything
into the run folder; the job, the runner (run.evaluate) and the writer read its attributes and never
the raw config again. The Python API builds the same object from keyword arguments
(:meth:`RunSettings.build`), so both paths check the same things the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mtharness.core import DEFAULT_SEED, MtharnessError
from mtharness.run.options import flag, whole_number
from mtharness.scoring.metrics import MetricSpec, parse_specs
from mtharness.validity.notes import WarnRates, warn_rates


@dataclass(frozen=True)
class CacheSettings:
    """The translation cache: on or off, its folder, one file per shard or one shared file."""

    enabled: bool = False
    dir: str | None = None
    per_shard: bool = False

    @property
    def active_dir(self) -> str | None:
        """The cache folder when the cache is on and has one, else None."""
        return self.dir if self.enabled and self.dir else None


@dataclass(frozen=True)
class RunSettings:
    """Every setting a run reads, checked. ``config`` is the resolved config recorded in scores.json."""

    metrics: tuple[MetricSpec, ...] = field(default_factory=lambda: tuple(parse_specs(None)))
    round_trip: bool = True
    limit: int | None = None
    chunk_size: int = 256
    progress: bool = True
    validity: Mapping[str, Any] | None = None  # None: no validity checks (no language ID, no similarity)
    warn: WarnRates = field(default_factory=WarnRates)
    seed: int = DEFAULT_SEED
    threads: int | None = None
    overwrite: bool = False
    cache: CacheSettings = field(default_factory=CacheSettings)
    shard: tuple[int, int] | None = None  # (index, count) of a translate-only shard run
    score_cache_dir: str | None = None  # comet.sqlite (COMET segment scores); None: nothing kept
    config: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> RunSettings:
        """From `mtharness run`'s resolved config (a plain mapping): every value checked, once."""
        from mtharness.run.shard import parse_shard  # shard imports the runner, which imports this

        cache = cfg.get("cache") or {}
        shard = cfg.get("shard") or {}
        if not isinstance(cache, Mapping) or not isinstance(shard, Mapping):
            raise MtharnessError("cache and shard must be groups (cache.enabled=..., shard.count=...)")
        cache_settings = CacheSettings(
            enabled=flag(cache.get("enabled", False), "cache.enabled"),
            dir=None if cache.get("dir") is None else str(cache.get("dir")),
            per_shard=flag(cache.get("per_shard", False), "cache.per_shard"),
        )
        seed = _seed(cfg.get("seed"))
        config = {**cfg, "seed": seed}  # recorded in scores.json; report/compare resample with it
        return cls.build(
            metric_specs=parse_specs(cfg.get("metrics")),
            round_trip=cfg.get("round_trip", True),
            limit=cfg.get("limit"),
            chunk_size=cfg.get("chunk_size", 256),
            progress=cfg.get("progress", True),
            validity=cfg.get("validity") or {},
            seed=seed,
            threads=cfg.get("threads"),
            overwrite=cfg.get("overwrite", False),
            cache=cache_settings,
            shard=parse_shard(
                whole_number(shard.get("index"), "shard.index", 0, allow_none=True),
                whole_number(shard.get("count", 1), "shard.count", 1),
            ),
            score_cache_dir=cache_settings.active_dir,
            config=config,
        )

    @classmethod
    def build(
        cls,
        metric_specs: Sequence[MetricSpec] | None = None,
        round_trip: Any = True,
        limit: Any = None,
        chunk_size: Any = 256,
        progress: Any = True,
        validity: Mapping[str, Any] | None = None,
        seed: Any = None,
        threads: Any = None,
        overwrite: Any = False,
        cache: CacheSettings | None = None,
        shard: tuple[int, int] | None = None,
        score_cache_dir: str | None = None,
        config: Mapping[str, Any] | None = None,
    ) -> RunSettings:
        """Check and assemble; ``validity`` is checked here (a bad key or missing package fails before
        anything is translated) and nowhere else."""
        if validity is not None:
            from mtharness.validity.checks import check_config

            check_config(validity)
        return cls(
            metrics=tuple(metric_specs) if metric_specs is not None else tuple(parse_specs(None)),
            round_trip=flag(round_trip, "round_trip"),
            limit=whole_number(limit, "limit", 1, allow_none=True),
            chunk_size=whole_number(chunk_size, "chunk_size", 1) or 1,
            progress=flag(progress, "progress"),
            validity=None if validity is None else dict(validity),
            warn=warn_rates(validity),
            seed=_seed(seed),
            threads=whole_number(threads, "threads", 1, allow_none=True),
            overwrite=flag(overwrite, "overwrite"),
            cache=cache or CacheSettings(),
            shard=shard,
            score_cache_dir=score_cache_dir,
            config=dict(config or {}),
        )


def _seed(value: Any) -> int:
    """The run's `seed` key: null means core.DEFAULT_SEED (sacrebleu's), anything else an integer."""
    if value is None:
        return DEFAULT_SEED
    if isinstance(value, bool) or not isinstance(value, int):
        raise MtharnessError(f"seed={value!r}: must be an integer (or null for {DEFAULT_SEED})")
    return value
