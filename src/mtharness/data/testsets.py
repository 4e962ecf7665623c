"""Named test sets, the way `sacrebleu -t wmt23 -l en-de` names them, resolved from local folders.

Two places are searched, in this order:
1. a data root laid out as ``<root>/<testset>/<pair>/`` with WMT/MTME files (``src.<src>``,
   ``ref.<NAME>.<tgt>``, optional ``docids.tsv``, ``systems/``, ``human/``). The root is
   ``$MTHARNESS_DATA``; without it, the first existing of ``./../shared/data`` (from the working
   directory) and ``<checkout>/../shared/data`` (beside an editable install).
2. the test sets sacrebleu itself has already downloaded, in its cache folder (``$SACREBLEU``,
   default ``~/.sacrebleu``), where it keeps one plain-text file per field:
   ``<testset>/<testset>.<pair>.src``, ``...ref`` or ``...ref-A``, ``...docid``.

Nothing is downloaded: this machine may be offline, and a test set that silently changes under a
cache is what we are here to prevent.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from mtharness.core import LanguagePair, MtharnessError

_PAIR = re.compile(r"^[A-Za-z]{2,8}(_[A-Za-z0-9]{1,8})*-[A-Za-z]{2,8}(_[A-Za-z0-9]{1,8})*$")


@dataclass(frozen=True)
class TestSet:
    """One test set and pair found on disk, with what it offers."""

    __test__ = False  # not a pytest class, despite the name

    testset: str
    pair: str
    origin: str  # "data root" or "sacrebleu cache"
    source: Path
    references: dict[str, Path] = field(default_factory=dict)
    docids: Path | None = None
    systems: tuple[str, ...] = ()
    human: tuple[str, ...] = ()

    @property
    def folder(self) -> Path:
        return self.source.parent


def data_roots() -> list[Path]:
    """Where named test sets are looked for, first match wins: $MTHARNESS_DATA, else ../shared/data."""
    env = os.environ.get("MTHARNESS_DATA")
    if env:
        root = Path(env).expanduser()
        if not root.is_dir():
            raise MtharnessError(
                f"MTHARNESS_DATA={env}: no such folder; point it at the data root (the folder holding "
                "wmt23/en-de/...) or unset it"
            )
        return [root]
    checkout = Path(__file__).resolve().parents[3]
    candidates = [Path.cwd().parent / "shared" / "data", checkout.parent / "shared" / "data"]
    seen: list[Path] = []
    for c in candidates:
        if c.is_dir() and c.resolve() not in [s.resolve() for s in seen]:
            seen.append(c)
    return seen


def sacrebleu_cache() -> Path:
    """sacrebleu's download folder (its own rule: $SACREBLEU, else ~/.sacrebleu)."""
    return Path(os.environ.get("SACREBLEU", str(Path.home() / ".sacrebleu"))).expanduser()


def _root_testset(folder: Path, testset: str) -> TestSet | None:
    if not _PAIR.match(folder.name):
        return None
    pair = LanguagePair.parse(folder.name)
    source = folder / f"src.{pair.src}"
    if not source.is_file():
        return None
    refs = {p.name.split(".")[1]: p for p in sorted(folder.glob(f"ref.*.{pair.tgt}"))}
    docids = folder / "docids.tsv"
    systems = tuple(sorted(p.name[: -len(pair.tgt) - 1] for p in (folder / "systems").glob(f"*.{pair.tgt}")))
    human = tuple(sorted(p.name for p in (folder / "human").glob("*") if p.is_file()))
    return TestSet(
        testset, str(pair), "data root", source, refs, docids if docids.is_file() else None, systems, human
    )


def _cache_testsets(folder: Path) -> list[TestSet]:
    """The processed text files sacrebleu leaves in <cache>/<testset>/ after `sacrebleu -t ...`."""
    found = []
    prefix = folder.name  # sacrebleu writes wmt21/dev as wmt21_dev; the folder keeps the name
    for source in sorted(folder.glob(f"{prefix}.*.src")):
        pair = source.name[len(prefix) + 1 : -len(".src")]
        if not _PAIR.match(pair):
            continue
        refs = {}
        for ref in sorted(folder.glob(f"{prefix}.{pair}.ref*")):
            suffix = ref.name[len(f"{prefix}.{pair}.ref") :]
            refs[suffix.lstrip("-:") or "ref"] = ref
        docid = folder / f"{prefix}.{pair}.docid"
        found.append(
            TestSet(prefix, pair, "sacrebleu cache", source, refs, docid if docid.is_file() else None)
        )
    return found


def available() -> list[TestSet]:
    """Every named test set on this machine, data root(s) first, then sacrebleu's cache."""
    found: list[TestSet] = []
    for root in data_roots():
        for testset_dir in sorted(p for p in root.iterdir() if p.is_dir()):
            for pair_dir in sorted(p for p in testset_dir.iterdir() if p.is_dir()):
                ts = _root_testset(pair_dir, testset_dir.name)
                if ts is not None:
                    found.append(ts)
    cache = sacrebleu_cache()
    if cache.is_dir():
        for testset_dir in sorted(p for p in cache.iterdir() if p.is_dir()):
            found.extend(_cache_testsets(testset_dir))
    return found


def resolve(testset: str, pair: str) -> TestSet:
    """The named test set for a pair, or one line saying what exists and where it was looked for."""
    if not _PAIR.match(pair or ""):
        raise MtharnessError(f"dataset.pair={pair!r} is not of the form SRC-TGT (e.g. en-de)")
    everything = available()
    for ts in everything:
        if ts.testset == testset and ts.pair == pair:
            return ts
    pairs = sorted(ts.pair for ts in everything if ts.testset == testset)
    where = (
        ", ".join(str(r) for r in data_roots())
        or "no data root ($MTHARNESS_DATA unset, ../shared/data absent)"
    )
    if pairs:
        raise MtharnessError(f"test set {testset} has no pair {pair}; available pairs: {', '.join(pairs)}")
    names = sorted({ts.testset for ts in everything})
    raise MtharnessError(
        f"test set {testset!r} not found (looked in {where} and sacrebleu's cache {sacrebleu_cache()}); "
        f"available: {', '.join(names) or 'none'}; `mtharness datasets` lists them, or set dataset.path"
    )
