"""bench.py sections for model-based metrics (issue 22, part 7).

comet_systems      COMET over 8 WMT23 zh-en systems: CometScorer.score_systems (each distinct source,
                   reference and output encoded once) vs 8 predict() calls, one per system, in the same
                   worker process of the managed env (``via: predict``: model.predict as a user calls it).
                   CPU time of the worker (/proc) plus the harness process; scores compared per system.
metricx_reference  MetricX (MetricXScorer) vs google-research/metricx's metricx24/predict.py (its CLI, batch
                   size 1, the only size it runs) on the same inputs and the same tiny checkpoint, each a
                   whole process, CPU time. Needs the reference code and a transformers-4.30 venv:
                       python3.11 -m venv /work/refenv
                       /work/refenv/bin/pip install torch==2.13.0 transformers==4.30.2 tokenizers==0.13.3 \\
                           datasets==2.13.1 accelerate==0.21.0 sentencepiece protobuf==3.20.3 "numpy<2"
                       git clone https://github.com/google-research/metricx /tmp/mxref   # metricx24/ inside
                   ($MTHARNESS_METRICX_REFENV and $MTHARNESS_METRICX_REF move them); skipped with the reason
                   where either is absent.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench_scratch import scratch_dir

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("MTHARNESS_DATA", REPO.parent / "shared" / "data")) / "wmt23"


def _proc_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def comet_systems(args: argparse.Namespace) -> dict[str, Any]:
    from mtharness.scoring.comet.cache import CometCache
    from mtharness.scoring.comet.env import env_python, require_env
    from mtharness.scoring.comet.metric import CometConfig, CometScorer
    from mtharness.textio import read_lines

    python = str(env_python(require_env()))
    folder = DATA / "zh-en"
    tmp = scratch_dir("bench-cometsys-")
    size = ["--hidden", "32", "--layers", "2"] if args.quick else ["--hidden", "128", "--layers", "4"]
    text = ["--vocab", "4000", "--text", str(folder / "src.zh"), str(folder / "ref.A.en")]
    subprocess.run(
        [
            python,
            str(REPO / "scripts" / "make_tiny_comet.py"),
            "--kind",
            "comet",
            "--out",
            str(tmp / "m"),
            *size,
            *text,
        ],
        capture_output=True,
        check=True,
    )
    n = args.comet_segments or (40 if args.quick else 200)
    src, ref = read_lines(folder / "src.zh")[:n], read_lines(folder / "ref.A.en")[:n]
    systems = {p.stem: read_lines(p)[:n] for p in sorted((folder / "systems").glob("*.en"))[:8]}
    scorer = CometScorer(CometConfig("comet", str(tmp / "m"), batch_size=8), CometCache(None))
    scorer._ensure_worker()
    pid = scorer.worker.proc.pid  # type: ignore[union-attr]

    def cpu() -> float:
        return _proc_cpu(pid) + time.process_time()

    c0, w0 = cpu(), time.perf_counter()
    theirs = {
        name: scorer.worker.score(
            [{"src": s, "mt": h, "ref": r} for s, h, r in zip(src, hyps, ref, strict=True)], via="predict"
        )["scores"]
        for name, hyps in systems.items()
    }
    c1, w1 = cpu(), time.perf_counter()
    ours = scorer.score_systems(src, systems, ref)
    c2, w2 = cpu(), time.perf_counter()
    scorer.close()
    diff = max(abs(a - b) for name in systems for a, b in zip(ours[name][1], theirs[name], strict=True))
    ratio = (c1 - c0) / max(c2 - c1, 1e-9)
    return {
        "what": f"{len(systems)} WMT23 zh-en systems x {n} segments, random-init COMET ({' '.join(size)}, batch 8): "
        "score_systems (distinct strings encoded once) vs one predict() per system in the same worker; "
        "CPU seconds of the worker + harness process (the machine is shared)",
        "ours_s": round(c2 - c1, 3),
        "theirs_s": round(c1 - c0, 3),
        "ours_wall_s": round(w2 - w1, 3),
        "theirs_wall_s": round(w1 - w0, 3),
        "max_abs_diff": diff,
        "ratio": round(ratio, 3),
        "ratio_meaning": "predict() per system CPU / score_systems CPU",
        "goal": ">= 2",
        "met": ratio >= 2 and diff < 1e-5,
    }


_OURS_MX = """
import json, sys
from mtharness.scoring.metricx import MetricXConfig, MetricXScorer
rows = [json.loads(x) for x in open(sys.argv[3], encoding="utf-8")]
s = MetricXScorer(MetricXConfig(model=sys.argv[1], tokenizer=sys.argv[2]))
out = s.score([r["source"] for r in rows], [r["hypothesis"] for r in rows], [r["reference"] for r in rows])
json.dump(out, open(sys.argv[4], "w"))
"""


def _child(cmd: list[str], env: dict[str, str]) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"metricx_reference: {cmd[:3]} failed: {proc.stderr[-800:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def metricx_reference(args: argparse.Namespace) -> dict[str, Any]:
    refenv = Path(os.environ.get("MTHARNESS_METRICX_REFENV", "/work/refenv")) / "bin" / "python"
    refcode = Path(os.environ.get("MTHARNESS_METRICX_REF", "/tmp/mxref"))
    if not refenv.is_file():
        return {
            "skipped": f"no reference venv at {refenv.parent.parent} (see scripts/bench_metrics.py for the pins)"
        }
    if not (refcode / "metricx24" / "predict.py").is_file():
        return {
            "skipped": f"no metricx24/predict.py under {refcode} (git clone google-research/metricx there)"
        }
    from mtharness.textio import read_lines

    tmp = scratch_dir("bench-metricx-")
    subprocess.run(
        [sys.executable, str(REPO / "scripts" / "make_tiny_metricx.py"), str(tmp)],
        capture_output=True,
        check=True,
    )
    n = args.comet_segments or (40 if args.quick else 200)
    folder = DATA / "en-de"
    src, ref = read_lines(folder / "src.en")[:n], read_lines(folder / "ref.A.de")[:n]
    hyp = read_lines(sorted((folder / "systems").glob("*.de"))[0])[:n]
    rows = [{"source": s, "hypothesis": h, "reference": r} for s, h, r in zip(src, hyp, ref, strict=True)]
    (tmp / "in.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    model, tok = str(tmp / "model"), str(tmp / "tokenizer")
    base = {**os.environ, "HF_HOME": str(tmp / "hf"), "OMP_NUM_THREADS": str(args.threads)}
    theirs = _child(
        [
            str(refenv),
            "-m",
            "metricx24.predict",
            "--tokenizer",
            tok,
            "--model_name_or_path",
            model,
            "--max_input_length",
            "1536",
            "--batch_size",
            "1",
            "--input_file",
            str(tmp / "in.jsonl"),
            "--output_file",
            str(tmp / "out" / "ref.jsonl"),
        ],
        {**base, "PYTHONPATH": str(refcode)},
    )
    ours = _child(
        [sys.executable, "-c", _OURS_MX, model, tok, str(tmp / "in.jsonl"), str(tmp / "ours.json")],
        {**base, "PYTHONPATH": str(REPO / "src")},
    )
    want = [json.loads(x)["prediction"] for x in (tmp / "out" / "ref.jsonl").read_text().splitlines()]
    got = json.loads((tmp / "ours.json").read_text())
    diff = max(abs(a - b) for a, b in zip(got, want, strict=True))
    ratio = ours / theirs
    return {
        "what": f"{n} WMT23 en-de segments (mode=ref), tiny random-init MetricX-24 (scripts/make_tiny_metricx.py): "
        "MetricXScorer (batch 8, length-sorted) vs metricx24/predict.py (transformers 4.30, batch 1); whole "
        "processes incl. imports and model load, CPU seconds",
        "ours_s": round(ours, 3),
        "theirs_s": round(theirs, 3),
        "max_abs_diff": diff,
        "ratio": round(ratio, 3),
        "ratio_meaning": "our CPU / reference predict.py CPU",
        "goal": "<= 1.1",
        "met": ratio <= 1.1 and diff < 1e-4,
    }


SECTIONS = {"comet_systems": comet_systems, "metricx_reference": metricx_reference}
