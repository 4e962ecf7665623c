"""bench.py's serve_index section (issue 23): the run index and segment store of `mtharness serve` at scale.

Builds, in a scratch folder, a results dir of 10,000 runs (copies of one real
`mtharness run translator=files` run's scores.json, with other translator names and settings,
datasets, pairs, dates and scores) and one run with 100,000 segments, then measures: the first
index build, an incremental refresh with nothing changed and with 100 runs changed, runs-page
queries (the goal: under 1 s for 10,000 runs), segment indexing and segment pages, and peak
memory (Python heap by tracemalloc, resident set by getrusage). The load average is recorded
beside the numbers: on a shared machine it explains the spread. Run it alone with
``python scripts/bench_serve.py [--quick]`` or as ``scripts/bench.py --only serve_index``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
GOAL_S = 1.0  # the runs page of 10,000 runs answers in under a second
DATASETS = (
    ("sample", "en-es"),
    ("wmt23", "en-de"),
    ("wmt23", "zh-en"),
    ("flores", "en-fr"),
    ("ntrex", "en-es"),
)


def _load() -> list[str]:
    return Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else []


def _median(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(max(1, repeats)):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return round(statistics.median(times), 4), out


def real_run(work: Path) -> Path:
    """One real run: `mtharness run translator=files` on the bundled sample, with a round trip."""
    sample = REPO / "src" / "mtharness" / "data" / "sample"
    folder = work / "template"
    cmd = [
        sys.executable, "-m", "mtharness", "run", "translator=files",
        f"translator.forward={sample / 'sample.es'}", f"translator.back={sample / 'sample.en'}",
        f"translator.source={sample / 'sample.en'}", "progress=false", "validity.langid.enabled=false",
        f"results_dir={work / 'scratch'}", f"hydra.run.dir={folder}",
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    proc = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"serve_index: the template run failed: {proc.stderr[-800:]}")
    return folder


def synthetic_runs(template: Path, root: Path, n: int) -> None:
    """``n`` run folders (scores.json only: the runs page reads nothing else) varied from the template."""
    doc = json.loads((template / "scores.json").read_text(encoding="utf-8"))
    for k in range(n):
        name, pair = DATASETS[k % len(DATASETS)]
        src, tgt = pair.split("-")
        run = json.loads(json.dumps(doc))
        run["dataset"].update(name=name, pair=pair, src_lang=src, tgt_lang=tgt)
        run["dataset"]["content_hash"] = f"{k % len(DATASETS):064x}"
        run["translator"]["name"] = f"system-{k % 97}"
        run["translator"]["beam"] = k % 3  # settings: another identity (older runs fold under it)
        run["created"] = f"2026-{k % 12 + 1:02d}-{k % 28 + 1:02d}T{k % 24:02d}:{k % 60:02d}:00+00:00"
        for per in run["scores"].values():
            for cell in per.values():
                cell["score"] = round(cell["score"] - ((k * 37) % 400) / 10, 4)
        run["copy_rate"] = round((k % 50) / 1000, 6)
        folder = root / f"batch-{k // 1000}" / f"run-{k}"
        folder.mkdir(parents=True)
        (folder / "scores.json").write_text(json.dumps(run), encoding="utf-8")


def big_run(template: Path, folder: Path, n: int) -> int:
    """A run with ``n`` segments (the template's rows cycled, texts and scores varied); its file size."""
    folder.mkdir(parents=True)
    doc = json.loads((template / "scores.json").read_text(encoding="utf-8"))
    doc["n_segments"] = n
    (folder / "scores.json").write_text(json.dumps(doc), encoding="utf-8")
    rows = [
        json.loads(line) for line in (template / "segments.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    with (folder / "segments.jsonl").open("w", encoding="utf-8") as fh:
        for i in range(n):
            row = dict(rows[i % len(rows)])
            row["id"], row["source"] = str(i + 1), f"{row['source']} #{i}"
            row["scores"] = {
                d: {m: round((v + i % 17) % 100, 4) for m, v in per.items()}
                for d, per in row["scores"].items()
            }
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    return (folder / "segments.jsonl").stat().st_size


def serve_index(args: argparse.Namespace) -> dict[str, Any]:
    sys.path.insert(0, str(REPO / "src"))
    from mtharness.serve.index import RunIndex
    from mtharness.serve.query import RunQuery
    from mtharness.serve.segments import SegmentQuery, SegmentStore

    n_runs = 1000 if args.quick else 10_000
    n_segments = 10_000 if args.quick else 100_000
    repeats = max(3, getattr(args, "repeats", 3))
    out: dict[str, Any] = {"runs": n_runs, "segments": n_segments, "loadavg_start": _load()}
    with tempfile.TemporaryDirectory(prefix="bench-serve-") as tmp:
        work = Path(tmp)
        template = real_run(work)
        root = work / "results"
        start = time.perf_counter()
        synthetic_runs(template, root, n_runs)
        file_size = big_run(template, root / "big", n_segments)
        out["build_folder_s"] = round(time.perf_counter() - start, 2)
        out["segments_file_mb"] = round(file_size / 2**20, 1)

        index = RunIndex([root])
        start = time.perf_counter()
        first = index.refresh()
        out["first_index_s"] = round(time.perf_counter() - start, 3)
        out["indexed"] = first.total
        out["refresh_unchanged_s"], _ = _median(index.refresh, repeats)
        for k in range(100):  # a hundred runs rewritten (a later run of the same folders)
            path = root / f"batch-{k // 1000}" / f"run-{k}" / "scores.json"
            path.write_text(path.read_text(encoding="utf-8") + " ", encoding="utf-8")
        start = time.perf_counter()
        changed = index.refresh()
        out["refresh_100_changed_s"] = round(time.perf_counter() - start, 3)
        out["refresh_100_changed_updated"] = changed.updated

        queries = {
            "newest_first": RunQuery(),
            "sort_score_chrF2": RunQuery(sort="score:chrF2"),
            "sort_rt_BLEU_page_100": RunQuery(sort="rt:BLEU", offset=5000, limit=50),
            "fold": RunQuery(fold=True, sort="score:chrF2"),
            "filter_text_and_dataset": RunQuery(text="system-4", dataset="wmt23", sort="score:TER"),
            "filter_dates_fold": RunQuery(date_from="2026-03-01", date_to="2026-06-30", fold=True),
        }
        out["query_s"] = {}
        for name, q in queries.items():
            out["query_s"][name], page = _median(lambda q=q: index.query(q), repeats)
            out.setdefault("query_total", {})[name] = page.total
        worst = max(out["query_s"].values())

        store = SegmentStore(index)
        tracemalloc.start()
        start = time.perf_counter()
        store.ensure("0/big")
        out["segments_index_s"] = round(time.perf_counter() - start, 3)
        out["segments_index_peak_heap_mb"] = round(tracemalloc.get_traced_memory()[1] / 2**20, 2)
        tracemalloc.reset_peak()
        pages = {
            "first_page": SegmentQuery(),
            "middle_by_score": SegmentQuery(metric="chrF2", sort="score", offset=n_segments // 2),
            "text_search": SegmentQuery(text="#12345"),
            "score_range": SegmentQuery(metric="BLEU", score_min=20, score_max=40, sort="score"),
        }
        out["segment_page_s"] = {}
        for name, sq in pages.items():
            out["segment_page_s"][name], _ = _median(lambda sq=sq: store.page("0/big", sq), repeats)
        out["segment_pages_peak_heap_mb"] = round(tracemalloc.get_traced_memory()[1] / 2**20, 2)
        tracemalloc.stop()
        out["index_file_mb"] = round(index.db_path.stat().st_size / 2**20, 1)
        index.close()
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    out["peak_child_rss_mb"] = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)
    out["loadavg_end"] = _load()
    out.update(
        ours_s=worst,
        ratio=round(GOAL_S / worst, 1) if worst else None,
        ratio_meaning="1 s / slowest runs-page query; >1 is under the goal",
        goal=f"runs page of {n_runs} runs < {GOAL_S:g} s",
        met=worst < GOAL_S,
        what=f"serve's run index over {n_runs} synthetic runs and a {n_segments}-segment run: slowest of "
        f"{len(queries)} runs-page queries (first index build {out['first_index_s']} s, unchanged refresh "
        f"{out['refresh_unchanged_s']} s; segment pages {max(out['segment_page_s'].values())} s at most)",
    )
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="1,000 runs and 10,000 segments")
    p.add_argument("--repeats", type=int, default=3, help="runs per timing, median reported")
    print(json.dumps(serve_index(p.parse_args(argv)), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
