"""bench.py section ``apertium_pipe`` (issue 28): isolated Apertium against one plain pipe.

Theirs: ``apertium -u eng-spa < FILE``, the way the plain tool is used (one sentence per line; the
segments leak into each other). Ours: a fresh Python process that translates the same file with
ApertiumTranslator in chunks of 256, as ``mtharness run`` calls it, every segment isolated.
Measured as CPU seconds of each whole process tree (the process and every child it waited for),
the two interleaved in each repeat (the order alternates), so both see the same load on this
shared machine; the load average is recorded around each repeat. ``mtharness run
translator=apertium round_trip=false`` on the same file is timed too, for its whole-process cost.

The isolation is checked on every segment: ours must equal the slow reference (a tagger started
for each segment, apertium_reference), and a sample must equal plain ``apertium -u`` run on that
segment alone.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("MTHARNESS_DATA", REPO.parent / "shared" / "data")) / "wmt23"
GOAL = 1.6

_OURS = """
import json, sys
from mtharness.translators.apertium import ApertiumTranslator
texts = open(sys.argv[1], encoding="utf-8").read().split("\\n")[:-1]
translator = ApertiumTranslator()
out = []
for start in range(0, len(texts), 256):
    out += translator.translate(texts[start : start + 256], "en", "es")
starts = translator.tagger_starts
translator.close()
open(sys.argv[2], "w", encoding="utf-8").write("\\n".join(out) + "\\n")
print(json.dumps({"tagger_starts": starts}))
"""


def _tree(cmd: list[str], env: dict[str, str], stdin: Path | None = None) -> tuple[float, float, str]:
    """CPU seconds (user + system, the whole waited-for tree), wall seconds and stdout of one command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    with open(stdin or os.devnull, "rb") as f:
        proc = subprocess.run(cmd, stdin=f, env=env, capture_output=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"bench apertium_pipe: {cmd[:4]} failed: {proc.stderr.decode()[-800:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall, proc.stdout.decode("utf-8", "replace")


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3]) if Path("/proc/loadavg").exists() else "?"


def require_eng_spa(section: str) -> None:
    """Stop the section with one line where Apertium's eng-spa pair is not installed."""
    found = shutil.which("apertium") is not None
    modes = (
        subprocess.run(["apertium", "-l"], capture_output=True, text=True, check=False).stdout
        if found
        else ""
    )
    if "eng-spa" not in modes.split():
        raise SystemExit(
            f"bench {section}: Apertium eng-spa is not installed (apt-get install apertium-eng-spa)"
        )


def _norm(line: str) -> str:
    return re.sub(r"\s+", " ", line).strip()


def apertium_pipe(args: argparse.Namespace) -> dict[str, Any]:
    sys.path.insert(0, str(REPO / "src"))
    from mtharness.translators.apertium_reference import ReferenceApertium

    require_eng_spa("apertium_pipe")
    n = 50 if args.quick else 2000
    lines = (DATA / "en-zh" / "src.en").read_text(encoding="utf-8").split("\n")
    texts = [t for t in lines if t.strip()][:n]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)])}
    tmp = Path(tempfile.mkdtemp(prefix="bench-apertium-"))
    try:
        src = tmp / "src.en"
        src.write_text("\n".join(texts) + "\n", encoding="utf-8")
        ours_cmd = [sys.executable, "-c", _OURS, str(src), str(tmp / "ours.es")]
        theirs_cmd = ["apertium", "-u", "eng-spa"]
        run_cmd = [sys.executable, "-m", "mtharness", "run", "translator=apertium", "dataset=files"]
        run_cmd += [f"dataset.src={src}", "dataset.src_lang=en", "dataset.tgt_lang=es", "round_trip=false"]
        run_cmd += ["cache.enabled=false", "progress=false"]
        ours_cpu: list[float] = []
        theirs_cpu: list[float] = []
        run_cpu: list[float] = []
        loads: list[str] = []
        info: dict[str, Any] = {}
        for r in range(args.repeats if args.quick else max(3, args.repeats)):  # interleaved, alternating
            loads.append(_load())
            sides = ["theirs", "ours"] if r % 2 == 0 else ["ours", "theirs"]
            for side in sides:
                if side == "ours":
                    cpu, _, out = _tree(ours_cmd, env)
                    ours_cpu.append(cpu)
                    info = json.loads(out.strip().splitlines()[-1])
                else:
                    cpu, _, out = _tree(theirs_cmd, env, stdin=src)
                    theirs_cpu.append(cpu)
                    theirs = out.split("\n")
            cpu, _, _ = _tree([*run_cmd, f"hydra.run.dir={tmp / f'run{r}'}"], env)
            run_cpu.append(cpu)
        loads.append(_load())
        ours = (tmp / "ours.es").read_text(encoding="utf-8").split("\n")[: len(texts)]
        alone_ref = ReferenceApertium().translate(texts, "en", "es")
        differs_ref = [i for i, (a, b) in enumerate(zip(ours, alone_ref, strict=True)) if a != b]
        sample = sorted(random.Random(28).sample(range(len(texts)), 5 if args.quick else 24))
        alone_plain = {
            i: _norm(
                subprocess.run(
                    ["apertium", "-u", "eng-spa"], input=texts[i], capture_output=True, text=True, check=True
                ).stdout
            )
            for i in sample
        }
        differs_plain = [i for i in sample if alone_plain[i] != ours[i]]
        leaky = sum(_norm(a) != b for a, b in zip(theirs, ours, strict=False))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    ratios = [o / t for o, t in zip(ours_cpu, theirs_cpu, strict=True)]
    ratio = statistics.median(ours_cpu) / statistics.median(theirs_cpu)
    return {
        "what": f"{len(texts)} WMT23 English sentences (en-zh src.en) en->es: a fresh Python process translating "
        "them isolated with ApertiumTranslator in chunks of 256 (ours) vs one `apertium -u eng-spa < file` "
        "(theirs, segments leak); CPU seconds of each whole process tree, interleaved",
        "ours_s": round(statistics.median(ours_cpu), 3),
        "theirs_s": round(statistics.median(theirs_cpu), 3),
        "ours_times": [round(t, 3) for t in ours_cpu],
        "theirs_times": [round(t, 3) for t in theirs_cpu],
        "ratios_per_repeat": [round(x, 3) for x in ratios],
        "mtharness_run_cpu_s": [round(t, 3) for t in run_cpu],
        "mtharness_run_ratio": round(statistics.median(run_cpu) / statistics.median(theirs_cpu), 3),
        "loadavg_per_repeat": loads,
        "tagger_starts": info.get("tagger_starts"),
        "differs_from_reference_alone": len(differs_ref),
        "differs_from_plain_alone": f"{len(differs_plain)} of {len(sample)}",
        "differs_from_plain_pipe": leaky,
        "ratio": round(ratio, 3),
        "ratio_meaning": "ours CPU / plain pipe CPU (median of repeats); "
        f"`mtharness run` whole process: {statistics.median(run_cpu) / statistics.median(theirs_cpu):.2f}x",
        "goal": f"<= {GOAL} and every output equal to the segment alone",
        "met": ratio <= GOAL and not differs_ref and not differs_plain,
    }
