"""`mtharness datasets`: the named test sets this machine has (data root and sacrebleu's cache)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from mtharness.cli.args import Parser, add_json, text_stream, write_json
from mtharness.core import MtharnessError
from mtharness.data.testsets import TestSet, available, data_roots, sacrebleu_cache
from mtharness.textio import read_lines


def _row(ts: TestSet, count: bool) -> dict[str, Any]:
    row: dict[str, Any] = {
        "testset": ts.testset,
        "pair": ts.pair,
        "origin": ts.origin,
        "folder": str(ts.folder),
        "references": list(ts.references),
        "docids": ts.docids is not None,
        "systems": list(ts.systems),
        "human": list(ts.human),
    }
    if count:  # a broken test set is listed as broken, with its reason; the others still are
        try:
            row["segments"] = n = len(read_lines(ts.source, "source file"))
            for ref in ts.references.values():
                if (m := len(read_lines(ref, "reference file"))) != n:
                    raise MtharnessError(f"reference {ref.name} has {m} lines, the source {n}")
        except (MtharnessError, OSError) as exc:
            row.pop("segments", None)
            row["broken"] = str(exc)
    return row


def _parser() -> argparse.ArgumentParser:
    p = Parser(
        prog="mtharness datasets",
        description="List the named test sets (dataset=wmt dataset.testset=NAME dataset.pair=SRC-TGT) "
        "found in the data root ($MTHARNESS_DATA, else ../shared/data) and in sacrebleu's cache.",
    )
    add_json(p, "the list")
    p.add_argument("--no-count", action="store_true", help="do not read the sources to count segments")
    return p


def main(argv: Sequence[str]) -> int:
    args = _parser().parse_args(list(argv))
    rows = [_row(ts, not args.no_count) for ts in available()]
    roots = [str(r) for r in data_roots()]
    write_json(args.json, {"data_roots": roots, "sacrebleu_cache": str(sacrebleu_cache()), "testsets": rows})
    out = text_stream(args)
    print(f"data root: {', '.join(roots) or 'none ($MTHARNESS_DATA unset, ../shared/data absent)'}", file=out)
    print(f"sacrebleu cache: {sacrebleu_cache()}", file=out)
    if not rows:
        print("no named test sets found; use dataset=files or dataset.path=FOLDER", file=out)
        return 0
    width = max(len(f"{r['testset']} {r['pair']}") for r in rows)
    for r in rows:
        if "broken" in r:
            print(f"  {r['testset']} {r['pair']}  [{r['origin']}]  BROKEN: {r['broken']}", file=out)
            continue
        extras = [f"refs {','.join(r['references']) or '-'}"]
        if "segments" in r:
            extras.insert(0, f"{r['segments']} segments")
        if r["systems"]:
            extras.append(f"{len(r['systems'])} systems")
        if r["human"]:
            extras.append(f"human: {', '.join(r['human'])}")
        if r["docids"]:
            extras.append("docids")
        name = f"{r['testset']} {r['pair']}"
        print(f"  {name:<{width}}  [{r['origin']}]  {'; '.join(extras)}", file=out)
    print("use: mtharness run dataset=wmt dataset.testset=NAME dataset.pair=SRC-TGT", file=out)
    return 0
