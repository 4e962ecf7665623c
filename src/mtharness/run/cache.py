"""Translation cache: a SQLite file (stdlib) that any translator can sit behind.

Key: the translator's identity (model ids, revisions, decoding settings, backend versions: see each
backend's identity()), plus its ``direction_identity(src, tgt)`` where it has one (an LLM's rendered
prompt for that direction), the direction and the source text. A backend with ``translate_raw`` and
``finish`` (the LLM backends) has its RAW answers stored; ``finish`` (output cleanup) runs on every
lookup, so raw outputs survive in the cache and cleanup never needs the model again. Every translate() call commits what it
translated before returning, so a run killed with kill -9 loses at most the chunk in flight and
the rerun translates only what is missing. WAL mode plus a busy timeout let several processes read
and write one file at once; INSERT OR IGNORE keeps the first answer for a key (a deterministic
translator gives the same one anyway). Scores are never cached: they are cheap and would go stale.

The same file holds language-ID labels (``LangIdCache``), keyed by the langid signature (py3langid
version, language restriction, min_letters) and the text: a rerun then never loads py3langid's model.
"""

from __future__ import annotations

import hashlib
import json
import random
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import closing, contextmanager, suppress
from pathlib import Path
from typing import Any

from mtharness.core import CacheCounts, MtharnessError
from mtharness.textio import describe_os_error
from mtharness.translators.base import (
    SegmentFailed,
    Translator,
    TranslatorBase,
    check_direction,
    check_outputs,
    close_translator,
    direction_identity,
    has_direction_identity,
    is_cacheable,
    output_notes,
    prepare,
    raw_outputs,
    run_info,
    set_answer_sink,
    set_progress,
)

CACHE_FILE = "translations.sqlite"
BUSY_TIMEOUT_MS = 120_000
_SCHEMA = """
CREATE TABLE IF NOT EXISTS translations (
    system TEXT NOT NULL,
    pair TEXT NOT NULL,
    source_sha256 TEXT NOT NULL,
    output TEXT NOT NULL,
    PRIMARY KEY (system, pair, source_sha256)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS systems (system TEXT PRIMARY KEY, identity TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS langid (
    signature TEXT NOT NULL,
    text_sha256 TEXT NOT NULL,
    lang TEXT NOT NULL,
    PRIMARY KEY (signature, text_sha256)
) WITHOUT ROWID;
"""
_IN_CHUNK = 500  # SQLite caps the number of ? parameters per statement


#: bumped whenever cached outputs of an unchanged identity can no longer be trusted. 2: Apertium
#: segments were not isolated before (their outputs depended on the batch); nothing stored under
#: version 1 is reused.
CACHE_KEY_VERSION = 2


def system_key(identity: Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON of a translator identity and the cache key version."""
    keyed = {"cache_key_version": CACHE_KEY_VERSION, "identity": dict(identity)}
    blob = json.dumps(keyed, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


_LAYOUT = {
    "translations": ["system", "pair", "source_sha256", "output"],
    "systems": ["system", "identity"],
    "langid": ["signature", "text_sha256", "lang"],
}


def cache_failure(path: str | Path, exc: sqlite3.Error) -> MtharnessError:
    """One line for a failed cache operation: disk full, damaged file, foreign layout, or the raw cause."""
    code = getattr(exc, "sqlite_errorcode", None)
    text = str(exc)
    if code == sqlite3.SQLITE_FULL or "disk is full" in text:
        return MtharnessError(
            f"translation cache {path}: disk full ({text}); free some space there or set cache.dir to "
            "another folder (translations committed so far are kept)"
        )
    if (
        code in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)
        or "malformed" in text
        or "not a database" in text
    ):
        return MtharnessError(
            f"translation cache {path} is damaged ({text}); delete it (the next run translates again) "
            "or set cache.dir to another folder"
        )
    if code == sqlite3.SQLITE_READONLY or "readonly" in text:
        return MtharnessError(
            f"translation cache {path} is read-only ({text}); set cache.dir to a writable folder "
            "or turn the cache off with cache.enabled=false"
        )
    return MtharnessError(
        f"translation cache {path}: {text}; set cache.dir to another folder or turn the cache off with "
        "cache.enabled=false"
    )


@contextmanager
def cache_errors(path: str | Path) -> Iterator[None]:
    """Turn SQLite errors inside the block into one line naming the cache file."""
    try:
        yield
    except sqlite3.Error as exc:
        raise cache_failure(path, exc) from None


def _check_layout(conn: sqlite3.Connection, path: Path) -> None:
    """Refuse a file whose tables have other columns (another program's, or another version's)."""
    for table, columns in _LAYOUT.items():
        found = [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]
        if found != columns:
            raise MtharnessError(
                f"translation cache {path}: table {table!r} has columns {found}, expected {columns} "
                "(another program's or version's file); move it away or set cache.dir to another folder"
            )


def open_cache(path: str | Path, journal_mode: str = "WAL") -> sqlite3.Connection:
    """Open (creating if needed) a cache file, in WAL mode unless told, with a generous busy timeout."""
    p = Path(path).expanduser()
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise MtharnessError(f"translation cache: {describe_os_error(exc, p.parent)}") from None
    try:
        conn = sqlite3.connect(p, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    except sqlite3.Error as exc:
        raise cache_failure(p, exc) from None
    try:
        retry_while_locked(lambda: _prepare(conn, p, journal_mode))
        return conn
    except sqlite3.Error as exc:
        conn.close()
        raise cache_failure(p, exc) from None
    except MtharnessError:
        conn.close()
        raise


def retry_while_locked(setup: Callable[[], None], timeout_s: float = BUSY_TIMEOUT_MS / 1000) -> None:
    """``setup`` (a fresh connection's PRAGMAs and schema), retried while SQLite says "locked".

    Two processes opening a new file at once: switching it to WAL needs the file to itself, and
    SQLite answers "database is locked" at once there instead of waiting out the busy timeout, so
    the set-up is retried (bounded by the same timeout) until the other process is through it.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            setup()
            return
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) and time.monotonic() < deadline:
                time.sleep(0.05 + random.random() * 0.1)
                continue
            raise


def _prepare(conn: sqlite3.Connection, path: Path, journal_mode: str) -> None:
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    # DELETE (rollback journal) for per-shard files on network filesystems, where WAL is unsafe
    conn.execute(f"PRAGMA journal_mode={journal_mode}")
    # NORMAL is durable against a killed process (the WAL is in the OS cache); only a power
    # cut could drop the last commits, which the next run simply translates again
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.executescript(_SCHEMA)
    _check_layout(conn, path)


def _select_by_text(
    conn: sqlite3.Connection, query: str, params: Sequence[str], texts: Iterable[str]
) -> dict[str, str]:
    """Run ``query`` (ending in "... IN") for the texts' keys; the value column by text."""
    by_key = {text_key(t): t for t in texts}
    keys = list(by_key)
    found: dict[str, str] = {}
    for start in range(0, len(keys), _IN_CHUNK):
        part = keys[start : start + _IN_CHUNK]
        rows = conn.execute(f"{query} ({','.join('?' * len(part))})", (*params, *part))
        for key, value in rows:
            found[by_key[key]] = value
    return found


def lookup(conn: sqlite3.Connection, system: str, pair: str, texts: Iterable[str]) -> dict[str, str]:
    """Cached outputs for those texts that have one, by source text."""
    query = (
        "SELECT source_sha256, output FROM translations WHERE system = ? AND pair = ? AND source_sha256 IN"
    )
    return _select_by_text(conn, query, (system, pair), texts)


@contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """One write transaction, taken at once (BEGIN IMMEDIATE): committed, or rolled back on any error."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        # a failed COMMIT (disk full) may already have rolled back: a second ROLLBACK would raise
        # "no transaction is active" and hide the real cause
        if conn.in_transaction:
            with suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
        raise


def insert(
    conn: sqlite3.Connection,
    system: str,
    pair: str,
    outputs: Mapping[str, str],
    identity: Mapping[str, Any] | None = None,
) -> None:
    """Store source -> output for one system and direction, in one committed transaction."""
    with _transaction(conn):
        if identity is not None:
            conn.execute(
                "INSERT OR IGNORE INTO systems VALUES (?, ?)",
                (system, json.dumps(identity, sort_keys=True, ensure_ascii=False, default=str)),
            )
        conn.executemany(
            "INSERT OR IGNORE INTO translations VALUES (?, ?, ?, ?)",
            [(system, pair, text_key(t), o) for t, o in outputs.items()],
        )


@contextmanager
def _answers_committed(
    inner: Translator, conn: sqlite3.Connection, system: str, pair: str, identity: Mapping[str, Any]
) -> Iterator[None]:
    """Let a backend that answers one segment at a time (openai) commit (raw) answers as they arrive."""
    set_answer_sink(inner, lambda done: insert(conn, system, pair, done, identity))
    try:
        yield
    finally:
        set_answer_sink(inner, None)


class CachedTranslator(TranslatorBase):
    """Wraps a translator; only texts missing from the cache reach it. Same protocol as any backend.

    ``cache_counts()`` gives hits and misses per direction ({"en-es": CacheCounts(hits=3, misses=7)}),
    counted per input segment; the runner copies them into scores.json.
    """

    def __init__(
        self,
        inner: Translator,
        cache_dir: str | Path,
        write_every: int = 256,
        file_name: str = CACHE_FILE,
        journal_mode: str = "WAL",
    ) -> None:
        self.inner = inner
        self.name = inner.name
        self.path = Path(cache_dir).expanduser() / file_name
        self.journal_mode = journal_mode
        self.write_every = max(1, int(write_every))
        self._conn: sqlite3.Connection | None = None
        self._system: str | None = None
        self._systems: dict[str, str] = {}
        self._counts: dict[str, dict[str, int]] = {}

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = open_cache(self.path, self.journal_mode)
        return self._conn

    def system(self) -> str:
        if self._system is None:
            self._system = system_key(self.inner.identity())
        return self._system

    def _direction(self, src: str, tgt: str) -> tuple[str, dict[str, Any]]:
        """The cache key of one direction and the identity stored with it."""
        if not has_direction_identity(self.inner):
            return self.system(), self.inner.identity()
        identity = {**self.inner.identity(), "direction": direction_identity(self.inner, src, tgt)}
        key = self._systems.get(f"{src}-{tgt}")
        if key is None:
            key = self._systems[f"{src}-{tgt}"] = system_key(identity)
        return key, identity

    def direction_identity(self, src: str, tgt: str) -> dict[str, Any]:
        return direction_identity(self.inner, src, tgt)

    def translate(self, texts: Sequence[str], src: str, tgt: str) -> list[str]:
        if not texts:
            return []
        # a clear "no model for this pair" beats an error about another checkpoint
        self.check_direction(src, tgt)
        (system, identity), pair = self._direction(src, tgt), f"{src}-{tgt}"
        conn = self._connection()
        raw_mode = raw_outputs(self.inner)
        backend = self.inner.translate_raw if raw_mode else self.inner.translate  # type: ignore[attr-defined]
        unique = list(dict.fromkeys(texts))
        with cache_errors(self.path):
            found = lookup(conn, system, pair, unique)
        self.report_progress(sum(1 for t in texts if t in found))  # hits are done at once
        missing = [t for t in unique if t not in found]
        # commit every write_every segments: a kill loses at most one such piece
        for start in range(0, len(missing), self.write_every):
            part = missing[start : start + self.write_every]
            with _answers_committed(self.inner, conn, system, pair, identity):
                try:
                    outputs = backend(part, src, tgt)
                except SegmentFailed as exc:  # keep what finished before the failure: the rerun resumes
                    if exc.done:
                        with cache_errors(self.path):
                            insert(conn, system, pair, exc.done, identity)
                    raise
            fresh = dict(zip(part, check_outputs(self.name, part, outputs), strict=True))
            with cache_errors(self.path):
                insert(conn, system, pair, fresh, identity)
            found.update(fresh)
        counts = self._counts.setdefault(pair, {"hits": 0, "misses": 0})
        missed = set(missing)
        n_missed = sum(1 for t in texts if t in missed)
        counts["misses"] += n_missed
        counts["hits"] += len(texts) - n_missed
        if raw_mode:
            finished = self.inner.finish(texts, [found[t] for t in texts], src, tgt)  # type: ignore[attr-defined]
            return check_outputs(self.name, texts, finished)
        return [found[t] for t in texts]

    def prepare(self, texts: Sequence[str], src: str, tgt: str) -> None:
        """Prepare the backend (load its model) only when some texts are not cached: a fully
        cached rerun loads nothing (and never imports torch)."""
        if not texts:
            return
        self.check_direction(src, tgt)
        system, _ = self._direction(src, tgt)
        unique = list(dict.fromkeys(texts))
        with cache_errors(self.path):
            found = lookup(self._connection(), system, f"{src}-{tgt}", unique)
        missing = [t for t in unique if t not in found]
        if missing:
            prepare(self.inner, missing, src, tgt)

    def set_progress(self, callback: Callable[[int], None] | None) -> None:
        """Hits are reported as soon as they are looked up; misses as the backend decodes them."""
        self._on_progress = callback
        set_progress(self.inner, callback)

    def identity(self) -> dict[str, Any]:
        return self.inner.identity()

    def check_direction(self, src: str, tgt: str) -> None:
        check_direction(self.inner, src, tgt)

    def output_notes(self, texts: Sequence[str], src: str, tgt: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """The wrapped backend's per-segment notes (raw LLM outputs), or none."""
        return output_notes(self.inner, texts, src, tgt)

    def run_info(self) -> dict[str, Any]:
        """The wrapped backend's run notes (truncation counts cover the segments translated now)."""
        return run_info(self.inner)

    def cache_counts(self) -> dict[str, CacheCounts]:
        return {pair: CacheCounts(**counts) for pair, counts in self._counts.items()}

    def close(self) -> None:
        """Close the cache file and the backend behind it."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        close_translator(self.inner)


def merge_caches(main: str | Path, parts: Sequence[Path], remedy: str) -> int:
    """Copy the translations (and their identities) of other cache files into ``main``, one
    transaction per file; rows already there are kept, so merging twice adds nothing. Returns the
    number of translations added; a file that cannot be merged fails with ``remedy`` in the line."""
    conn = open_cache(main, "DELETE")
    count = "SELECT count(*) FROM translations"
    try:
        before = conn.execute(count).fetchone()[0]
        for part in parts:
            conn.execute("ATTACH DATABASE ? AS part", (str(part),))
            try:
                with _transaction(conn):
                    conn.execute(
                        "INSERT OR IGNORE INTO main.translations (system, pair, source_sha256, output) "
                        "SELECT system, pair, source_sha256, output FROM part.translations"
                    )
                    conn.execute(
                        "INSERT OR IGNORE INTO main.systems (system, identity) "
                        "SELECT system, identity FROM part.systems"
                    )
            except sqlite3.Error as exc:
                raise MtharnessError(f"cache {part}: cannot merge it ({exc}); {remedy}") from None
            finally:
                conn.execute("DETACH DATABASE part")
        return int(conn.execute(count).fetchone()[0] - before)
    finally:
        conn.close()


class LangIdCache:
    """Language-ID labels by (langid signature, text), in the translation cache file.

    ``labels()`` looks every text up and hands only the missing ones to ``detect`` (which loads the
    model), so a rerun with all hits never loads it. ``cache_counts()`` counts hits and misses per
    input segment (CacheCounts(hits=150, misses=0)); the runner records them in scores.json
    (``langid_cache``).
    """

    def __init__(self, cache_dir: str | Path, file_name: str = CACHE_FILE, journal_mode: str = "WAL") -> None:
        self.path = Path(cache_dir).expanduser() / file_name
        self.journal_mode = journal_mode
        self._counts = {"hits": 0, "misses": 0}

    def labels(
        self, texts: Sequence[str], signature: str, detect: Callable[[list[str]], list[str]]
    ) -> list[str]:
        """One label per text: cached where known, else ``detect(missing)`` (then stored)."""
        unique = list(dict.fromkeys(texts))
        query = "SELECT text_sha256, lang FROM langid WHERE signature = ? AND text_sha256 IN"
        with closing(open_cache(self.path, self.journal_mode)) as conn:
            with cache_errors(self.path):
                found = _select_by_text(conn, query, (signature,), unique)
            missing = [t for t in unique if t not in found]
            if missing:
                fresh = dict(zip(missing, detect(missing), strict=True))
                with cache_errors(self.path), _transaction(conn):
                    conn.executemany(
                        "INSERT OR IGNORE INTO langid VALUES (?, ?, ?)",
                        [(signature, text_key(t), lang) for t, lang in fresh.items()],
                    )
                found.update(fresh)
        missed = set(missing)
        n_missed = sum(1 for t in texts if t in missed)
        self._counts["misses"] += n_missed
        self._counts["hits"] += len(texts) - n_missed
        return [found[t] for t in texts]

    def cache_counts(self) -> CacheCounts:
        return CacheCounts(**self._counts)


def with_cache(
    translator: Translator,
    enabled: bool,
    cache_dir: str | Path | None,
    file_name: str = CACHE_FILE,
    journal_mode: str = "WAL",
) -> Translator:
    """The translator behind a cache, unless caching is off or the backend opts out (files; any
    backend that is not context-free)."""
    if not enabled or not cache_dir or not is_cacheable(translator):
        return translator
    return CachedTranslator(translator, cache_dir, file_name=file_name, journal_mode=journal_mode)
