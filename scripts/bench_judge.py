"""bench.py's `judge` section: the LLM judge (metrics=[llm_mqm]) against a bare asyncio client.

Both sides talk to one `transformers serve` process (bench_llm.start_server: the tiny chat LM of
tests/fixtures) and send identical request bodies (the judge's own, built by its prompt) with 8 in
flight. The harness side is what a run does: the llm_mqm scorer with a fresh answer cache (lookups,
inserts, parsing, failure counting included). Runs alternate (ours, theirs, theirs, ours, ...) so load
from other processes hits both sides alike; throughput is segments per wall second.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
from typing import Any

from bench_llm import REPO, TINY_LLM, _bare, _timed, start_server


def judge(args: Any) -> dict[str, Any]:
    if not (TINY_LLM / "config.json").exists():
        return {"skipped": f"{TINY_LLM} missing (python scripts/make_tiny_models.py llm-copy {TINY_LLM})"}
    try:
        import fastapi  # noqa: F401
        import httpx  # noqa: F401
    except ImportError:
        return {"skipped": "needs the serving extra: pip install 'mtharness[serve,openai]'"}
    from mtharness.scoring import registry

    sources = (REPO / "src/mtharness/data/sample/sample.en").read_text(encoding="utf-8").splitlines()
    sources = list(dict.fromkeys(sources))[: 32 if args.quick else 150]
    hyps = [s.upper() for s in sources]  # what is judged does not matter to the transport
    repeats = max(3, args.repeats)
    server, base = start_server(TINY_LLM, args.threads)
    settings = {"base_url": base, "model": str(TINY_LLM), "max_concurrency": 8, "max_tokens": 48}
    metric = registry.get("llm_mqm")
    try:

        def ours() -> int:
            with tempfile.TemporaryDirectory() as cache_dir:
                scorer = metric.open(settings, cache_dir)  # type: ignore[attr-defined]
                scorer.set_direction("forward", "en", "es")
                try:
                    result, _ = scorer.score(sources, hyps, None)
                    return int(result.extra["judge_failures"])
                finally:
                    scorer.close()

        probe = metric.open(settings, None)  # type: ignore[attr-defined]
        probe.set_direction("forward", "en", "es")
        payloads = [
            probe.client.body(probe.prompt.messages("en", "es", s, h))
            for s, h in zip(sources, hyps, strict=True)
        ]
        probe.close()

        def theirs() -> list[str]:
            return asyncio.run(_bare(base + "/chat/completions", payloads, 8))

        failures = ours()
        theirs()  # warm-up: model loaded, connections, imports
        runs: dict[str, list[float]] = {"ours": [], "theirs": []}
        for r in range(repeats):
            order = [("ours", ours), ("theirs", theirs)]
            for key, fn in order if r % 2 == 0 else order[::-1]:
                wall, _, _ = _timed(fn)
                runs[key].append(wall)
    finally:
        server.terminate()
        server.wait(timeout=30)
    med = {k: statistics.median(v) for k, v in runs.items()}
    ratio = med["theirs"] / med["ours"]  # = our throughput / theirs
    return {
        "what": f"metrics=[llm_mqm] scorer (prompt, answer cache, parsing) vs a bare asyncio httpx client, same "
        f"`transformers serve --continuous-batching` server (tiny chat LM, {args.threads} server thread(s)), "
        f"{len(sources)} identical judge requests, max_tokens 48, 8 in flight; {repeats} interleaved repeats",
        "ours_s": round(med["ours"], 4),
        "theirs_s": round(med["theirs"], 4),
        "ours_times": [round(w, 4) for w in runs["ours"]],
        "theirs_times": [round(w, 4) for w in runs["theirs"]],
        "ratio": round(ratio, 3),
        "ratio_meaning": "judge throughput / bare client throughput at concurrency 8",
        "goal": ">= 0.9",
        "met": ratio >= 0.9,
        "paired_ratio_median": round(
            statistics.median(t / o for o, t in zip(runs["ours"], runs["theirs"], strict=True)), 3
        ),
        "segments_per_s": {k: round(len(sources) / v, 2) for k, v in med.items()},
        "judge_failures": failures,
        "n_requests": len(sources),
    }
