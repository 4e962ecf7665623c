"""Sharding one test set across jobs: which segments a shard owns, and the translate-only shard run.

A shard run translates its slice (forward and back) into the translation cache and scores nothing:
corpus-level BLEU/chrF/TER of a slice do not combine into the score of the whole set, so partial
numbers would only mislead. The final run without ``shard.*`` scores everything from the cache.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from mtharness.core import Dataset, MtharnessError
from mtharness.run.cache import CachedTranslator
from mtharness.run.translate import translate_round_trip
from mtharness.textio import atomic_write_json
from mtharness.translators.base import Translator, translation_cache_counts

MANIFEST = "shard.json"
SHARD_CACHE_GLOB = "cache-*-of-*.sqlite"


def shard_of(segment_id: str, count: int) -> int:
    """The shard (0..count-1) owning a segment id: a stable hash, the same on every machine and run."""
    # blake2b, not hash(): Python salts str hashes per process, and shards run in different processes
    digest = hashlib.blake2b(segment_id.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % count


def parse_shard(index: Any, count: Any) -> tuple[int, int] | None:
    """Validate ``shard.index``/``shard.count``; None means an unsharded run (count 1)."""
    try:
        n = 1 if count is None else int(count)
    except (TypeError, ValueError):
        raise MtharnessError(f"shard.count={count!r} must be a whole number >= 1") from None
    if n < 1:
        raise MtharnessError(f"shard.count={n} must be >= 1 (1 means no sharding)")
    if index is None:
        if n > 1:
            raise MtharnessError(f"shard.count={n} needs shard.index=0..{n - 1} (which slice this job owns)")
        return None
    try:
        i = int(index)
    except (TypeError, ValueError):
        raise MtharnessError(f"shard.index={index!r} must be a whole number") from None
    if not 0 <= i < n:
        raise MtharnessError(f"shard.index={i} is outside 0..{n - 1} for shard.count={n}")
    return None if n == 1 else (i, n)


def select_shard(dataset: Dataset, index: int, count: int) -> Dataset:
    """The segments of shard ``index`` of ``count``, in dataset order (possibly none)."""
    segments = tuple(s for s in dataset.segments if shard_of(s.id, count) == index)
    return Dataset(dataset.name, dataset.pair, segments, dataset.ref_names, dataset.origin)


def cache_settings(shard: tuple[int, int] | None, per_shard: bool) -> dict[str, str]:
    """Cache file and journal mode: one shared WAL file, or (per_shard) one rollback-journal file per shard.

    WAL needs shared memory between the processes of one host, so it is unsafe on NFS/Lustre; a file
    written by one process at a time with a rollback journal is fine there.
    """
    from mtharness.run.cache import CACHE_FILE

    if not per_shard:
        return {"file_name": CACHE_FILE, "journal_mode": "WAL"}
    name = CACHE_FILE if shard is None else f"cache-{shard[0]}-of-{shard[1]}.sqlite"
    return {"file_name": name, "journal_mode": "DELETE"}


def merge_shard_caches(cache_dir: str | Path) -> dict[str, int]:
    """Copy every cache-<i>-of-<n>.sqlite in cache_dir into its main cache file; idempotent."""
    from mtharness.run.cache import CACHE_FILE, merge_caches

    folder = Path(cache_dir).expanduser()
    parts = sorted(folder.glob(SHARD_CACHE_GLOB))
    if not parts:
        return {"files": 0, "added": 0}
    added = merge_caches(folder / CACHE_FILE, parts, "rerun that shard or delete the file")
    return {"files": len(parts), "added": added}


def require_cache(translator: Translator) -> Translator:
    """A shard run is only useful if its translations land in the cache."""
    if not isinstance(translator, CachedTranslator):
        raise MtharnessError(
            "shard.index/shard.count translate into the translation cache, which is off for this run: "
            "set cache.enabled=true and a cache.dir every shard can reach"
        )
    return translator


def _cache_counts(translator: Translator) -> dict[str, Any] | None:
    """The manifest's ``cache``: hits and misses per language pair ({"en-es": {"hits": 0, ...}})."""
    if not isinstance(translator, CachedTranslator):
        return None
    return {pair: counts.to_json() for pair, counts in translation_cache_counts(translator).items()}


def translate_shard(
    dataset: Dataset,
    translator: Translator,
    index: int,
    count: int,
    round_trip: bool = True,
    chunk_size: int = 256,
    progress: bool = True,
) -> dict[str, Any]:
    """Translate slice ``index`` of ``count`` forward (and back), for the cache; returns the manifest."""
    part = select_shard(dataset, index, count)
    pair = part.pair
    ids = [s.id for s in part.segments]
    seconds: dict[str, float] = {}
    fwd, back = translate_round_trip(
        translator,
        part.sources,
        pair,
        round_trip,
        chunk_size,
        progress,
        ids,
        (f"shard {index}", f"shard {index} back"),
    )
    seconds["forward_s"] = round(fwd.seconds, 4)
    loads = fwd.load_seconds
    if back is not None:
        seconds["round_trip_s"] = round(back.seconds, 4)
        loads += back.load_seconds
    seconds["load_s"] = round(loads, 4)
    return {
        "shard": {"index": index, "count": count, "partial": True},
        "dataset": {
            "name": dataset.name,
            "pair": str(pair),
            "content_hash": dataset.content_hash(),
            "n_segments_total": len(dataset),
        },
        "n_segments": len(part),
        "round_trip": round_trip,
        "translator": {"name": translator.name, **translator.identity()},
        "timings": seconds,
        "cache": _cache_counts(translator),
    }


def write_manifest(manifest: dict[str, Any], run_dir: str | Path) -> dict[str, Any]:
    """Write shard.json (no scores.json: a shard run has no scores, and leaderboards must not list it)."""
    out = Path(run_dir)
    out.mkdir(parents=True, exist_ok=True)
    manifest = {**manifest, "run_dir": str(out)}
    atomic_write_json(out / MANIFEST, manifest)
    return manifest
