"""bench.py's compare sections (issue 28): `mtharness compare` and `run translator=files` against
the sacrebleu CLI on the same files, whole processes, and a cost curve over corpus sizes.

Both sides run as separate processes, alternating (theirs, ours, theirs, ours, ...) so load from
other processes hits both alike; each process is waited for with ``os.wait4``, so its wall time,
CPU time (itself and its worker processes) and peak resident memory (the largest single process
of its tree, kernel ``ru_maxrss``) are its own. The machine's load average (``os.getloadavg``) is
recorded beside every measurement: on a shared machine it explains the spread.
Data: WMT23 zh-en (1,976 sentences, 8 systems), cycled to the sizes asked for.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench_scratch import scratch_dir

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("MTHARNESS_DATA", REPO.parent / "shared" / "data")) / "wmt23"
PAIR = "zh-en"
SYSTEMS = (
    "ONLINE-B",
    "GPT4-5shot",
    "NLLB_Greedy",
    "Lan-BridgeMT",
    "ONLINE-A",
    "ONLINE-W",
    "NLLB_MBR_BLEU",
    "ANVITA",
)
SACREBLEU = str(Path(sys.executable).with_name("sacrebleu"))
# sacrebleu's CLI keeps every reference's n-grams for the whole corpus: ~5 GB at 100k segments, so
# on a 24 GiB machine it is not run at 1M (it would be ~50 GB); ours is
THEIRS_MAX_SEGMENTS = 100_000
# sacrebleu's TER is pure Python: 8 systems x 1,976 zh-en segments take ~400 s on the quiet 2-core
# machine (2026-12-06), so one system's TER at 100k segments would be ~43 min; the run side's
# sacrebleu counterpart (`-m bleu chrf ter`) stops at this size and the table says "not run"
THEIRS_TER_MAX_SEGMENTS = 10_000


def load() -> float:
    return round(os.getloadavg()[0], 2)


def measure(cmd: list[str], cwd: Path) -> dict[str, Any]:
    """Run one process to its end: wall s, CPU s (with its children), peak RSS MB, load before."""
    before = load()
    with tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"bench: {' '.join(cmd[:4])} ... exited {proc.returncode}")
    return {
        "wall_s": round(wall, 3),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 3),
        "peak_mb": round(usage.ru_maxrss / 1024, 1),
        "load": before,
    }


def alternate(ours: list[str], theirs: list[str] | None, cwd: Path, repeats: int) -> dict[str, Any]:
    """Median wall/CPU/peak of both sides over ``repeats`` alternating runs."""
    runs: dict[str, list[dict[str, Any]]] = {"ours": [], "theirs": []}
    for i in range(max(1, repeats)):
        order = [("theirs", theirs), ("ours", ours)] if i % 2 == 0 else [("ours", ours), ("theirs", theirs)]
        for side, cmd in order:
            if cmd is not None:
                runs[side].append(measure(cmd, cwd))
    out: dict[str, Any] = {"loads": [r["load"] for side in runs.values() for r in side]}
    for side, rs in runs.items():
        if rs:
            out[side] = {k: statistics.median(r[k] for r in rs) for k in ("wall_s", "cpu_s", "peak_mb")}
            out[f"{side}_times"] = [r["wall_s"] for r in rs]
    return out


def cycled(folder: Path, n: int) -> Path:
    """zh-en source, reference and the 8 systems cycled to ``n`` lines, in ``folder/n``."""
    out = folder / str(n)
    out.mkdir(parents=True, exist_ok=True)
    files = {"src.zh": DATA / PAIR / "src.zh", "ref.en": DATA / PAIR / "ref.A.en"}
    files |= {f"{s}.en": DATA / PAIR / "systems" / f"{s}.en" for s in SYSTEMS}
    for name, path in files.items():
        lines = path.read_text(encoding="utf-8").split("\n")
        lines = lines[:-1] if lines and lines[-1] == "" else lines
        with (out / name).open("w", encoding="utf-8") as f:
            for i in range(n):
                f.write(lines[i % len(lines)] + "\n")
    return out


def ours_compare(systems: tuple[str, ...], metrics: list[str], extra: list[str]) -> list[str]:
    files = [f"{s}.en" for s in systems]
    return [sys.executable, "-m", "mtharness", "compare", "--refs", "ref.en", "--systems", *files,
            "--metrics", *metrics, "--quiet", *extra]  # fmt: skip


def theirs_cli(systems: tuple[str, ...], metrics: list[str], extra: list[str]) -> list[str]:
    return [SACREBLEU, "ref.en", "-i", *(f"{s}.en" for s in systems), "-m", *metrics, *extra]


def _section(what: str, res: dict[str, Any], goal: str, met: bool, **more: Any) -> dict[str, Any]:
    ours, theirs = res["ours"], res["theirs"]
    return {
        "what": what,
        "ours_s": ours["wall_s"],
        "theirs_s": theirs["wall_s"],
        "ours_times": res["ours_times"],
        "theirs_times": res["theirs_times"],
        "ours_cpu_s": ours["cpu_s"],
        "theirs_cpu_s": theirs["cpu_s"],
        "peak_mb": {"ours": ours["peak_mb"], "theirs": theirs["peak_mb"]},
        "loadavg_during": res["loads"],
        "goal": goal,
        "met": met,
        **more,
    }


def _data(args: argparse.Namespace, n: int | None = None) -> Path:
    base = scratch_dir("bench-compare-")
    return cycled(base, n or (40 if args.quick else 1976))


def compare_scoring(args: argparse.Namespace) -> dict[str, Any]:
    d, m = _data(args), ["bleu", "chrf", "ter"]
    res = alternate(
        ours_compare(SYSTEMS, m, ["--paired", "none"]), theirs_cli(SYSTEMS, m, []), d, args.repeats
    )
    ratio = res["theirs"]["wall_s"] / res["ours"]["wall_s"]
    return _section(
        "`mtharness compare --paired none` vs `sacrebleu REF -i SYS... -m bleu chrf ter`, 8 WMT23 zh-en "
        f"systems x BLEU+chrF+TER, {sum(1 for _ in (d / 'ref.en').open())} segments, whole processes",
        res,
        ">= 4",
        ratio >= 4,
        ratio=round(ratio, 2),
        ratio_meaning="sacrebleu CLI wall time / ours",
    )


def compare_paired(args: argparse.Namespace) -> dict[str, Any]:
    d, m, four = _data(args), ["bleu", "chrf", "ter"], SYSTEMS[:4]
    ours = ours_compare(four, m, ["--paired", "bs", "--baseline", four[0]])
    res = alternate(ours, theirs_cli(four, m, ["--paired-bs", "-f", "text"]), d, args.repeats)
    ratio = res["theirs"]["wall_s"] / res["ours"]["wall_s"]
    return _section(
        "paired bootstrap (1000 resamples), 4 systems x BLEU+chrF+TER against a baseline: `mtharness "
        "compare --paired bs --baseline` vs `sacrebleu -i ... --paired-bs`, WMT23 zh-en",
        res,
        ">= 4",
        ratio >= 4,
        ratio=round(ratio, 2),
        ratio_meaning="sacrebleu CLI wall time / ours",
    )


def compare_all_pairs(args: argparse.Namespace) -> dict[str, Any]:
    d, m = _data(args), ["bleu", "chrf", "ter"]
    ours = ours_compare(SYSTEMS, m, ["--paired", "bs"])  # no --baseline: all 28 pairs, clusters
    res = alternate(ours, theirs_cli(SYSTEMS, m, ["--paired-bs", "-f", "text"]), d, args.repeats)
    ratio = res["ours"]["wall_s"] / res["theirs"]["wall_s"]
    return _section(
        "all-pairs matrix of 8 systems (28 paired bootstraps, clusters) x BLEU+chrF+TER vs sacrebleu's "
        "7 baseline pairs (`--paired-bs`), WMT23 zh-en",
        res,
        "<= 2",
        ratio <= 2,
        ratio=round(ratio, 2),
        ratio_meaning="our wall time / sacrebleu CLI's (time, lower is better)",
    )


def compare_100k(args: argparse.Namespace) -> dict[str, Any]:
    n = 1000 if args.quick else 100_000
    d, m, two = _data(args, n), ["bleu", "chrf"], SYSTEMS[:2]
    res = alternate(ours_compare(two, m, ["--paired", "none"]), theirs_cli(two, m, []), d, args.repeats)
    ratio = res["theirs"]["wall_s"] / res["ours"]["wall_s"]
    peak = res["ours"]["peak_mb"]
    return _section(
        f"2 systems x BLEU+chrF `--paired none`, WMT23 zh-en cycled to {n:,} segments, vs the sacrebleu CLI",
        res,
        ">= 4 and peak <= 1500 MB",
        ratio >= 4 and peak <= 1500,
        ratio=round(ratio, 2),
        ratio_meaning="sacrebleu CLI wall time / ours",
    )


def _run_files(d: Path) -> list[str]:
    return [sys.executable, "-m", "mtharness", "run", "dataset=files", f"dataset.src={d / 'src.zh'}",
            f"dataset.refs=[{d / 'ref.en'}]", "dataset.src_lang=zh", "dataset.tgt_lang=en",
            "translator=files", f"translator.forward={d / 'ONLINE-B.en'}", "round_trip=false",
            "progress=false", f"results_dir={d / 'results'}"]  # fmt: skip


def cost_curve(args: argparse.Namespace) -> dict[str, Any]:
    """compare (2 systems x BLEU+chrF) and `run translator=files` (1 system, BLEU, chrF, chrF++, TER,
    validity) per size, ours and the sacrebleu CLI's, time and peak memory."""
    sizes = args.curve_sizes or ([100, 300] if args.quick else [1000, 10_000, 100_000])
    base = scratch_dir("bench-curve-")
    rows = []
    for n in sizes:
        d = cycled(base, n)
        theirs_ok = n <= THEIRS_MAX_SEGMENTS
        two, m = SYSTEMS[:2], ["bleu", "chrf"]
        comp = alternate(
            ours_compare(two, m, ["--paired", "none"]), theirs_cli(two, m, []) if theirs_ok else None, d, 1
        )
        ter_ok = n <= THEIRS_TER_MAX_SEGMENTS
        run = alternate(
            _run_files(d), theirs_cli(SYSTEMS[:1], ["bleu", "chrf", "ter"], []) if ter_ok else None, d, 1
        )
        rows.append({"segments": n, "compare": comp, "run_files": run})
        for f in d.iterdir():
            if f.is_file():
                f.unlink()
    small, big = rows[0], rows[-1]
    growth = big["run_files"]["ours"]["peak_mb"] / small["run_files"]["ours"]["peak_mb"]
    size_growth = big["segments"] / small["segments"]
    return {
        "what": "cost curve: compare (2 systems x BLEU+chrF, --paired none) and `run translator=files` "
        "(BLEU, chrF, chrF++, TER, validity) vs the sacrebleu CLI (`-m bleu chrf` / `-m bleu chrf ter`) "
        f"at {', '.join(f'{n:,}' for n in sizes)} segments (WMT23 zh-en cycled)",
        "ours_s": big["compare"]["ours"]["wall_s"],
        "theirs_s": big["compare"].get("theirs", {}).get("wall_s", ""),
        "rows": rows,
        "ratio": round(growth / size_growth, 3),
        "ratio_meaning": f"run's peak-memory growth over segment growth ({small['segments']:,} -> "
        f"{big['segments']:,})",
        "goal": "<= 1 (memory no faster than the segments)",
        "met": growth <= size_growth,
    }


def curve_markdown(section: dict[str, Any]) -> list[str]:
    """The cost curve as a table (docs/performance.md keeps one)."""
    lines = [
        "| segments | compare ours s / MB | compare sacrebleu s / MB | run ours s / MB | sacrebleu (1 system) s / MB | load |",
        "|---:|---:|---:|---:|---:|---|",
    ]

    def cell(res: dict[str, Any], side: str) -> str:
        r = res.get(side)
        return f"{r['wall_s']:.1f} / {r['peak_mb']:.0f}" if r else "not run"

    for row in section.get("rows", []):
        c, r = row["compare"], row["run_files"]
        loads = "-".join(str(x) for x in (min(c["loads"] + r["loads"]), max(c["loads"] + r["loads"])))
        lines.append(
            f"| {row['segments']:,} | {cell(c, 'ours')} | {cell(c, 'theirs')} | {cell(r, 'ours')} | "
            f"{cell(r, 'theirs')} | {loads} |"
        )
    return lines


SECTIONS = {
    "compare_scoring": compare_scoring,
    "compare_paired": compare_paired,
    "compare_all_pairs": compare_all_pairs,
    "compare_100k": compare_100k,
    "cost_curve": cost_curve,
}
