"""The slow reference for Apertium's isolation: every segment tagged by a tagger started for it.

ApertiumTranslator keeps its processes running and reuses taggers where it can prove a segment
gets the tags it gets alone (apertium_tagger). This translator proves nothing: it streams the
``-z`` stages of each call through freshly started processes and starts one ``apertium-tagger``
per segment, so each segment's output is, by construction, the one it gets alone. Tests and
``scripts/bench.py`` compare the fast path with it; about 5 ms of CPU per segment more.
"""

from __future__ import annotations

import subprocess
import time

from mtharness.core import MtharnessError
from mtharness.translators.apertium import ApertiumTranslator
from mtharness.translators.apertium_pipeline import Pipeline, run_stream, unescape

_NUL = b"\0"


class ReferenceApertium(ApertiumTranslator):
    """ApertiumTranslator with nothing reused between segments' taggers or between calls."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.reference_tagger_starts = 0

    def _run(self, pipeline: Pipeline, blocks: list[bytes]) -> list[str]:
        deadline = time.monotonic() + self.timeout_s
        analysed = run_stream(pipeline.mode, pipeline.head, blocks, deadline)
        if pipeline.tagger is not None:
            analysed = [self._tag_alone(pipeline, block, deadline) for block in analysed]
        final = run_stream(pipeline.mode, pipeline.tail, analysed, deadline)
        return [unescape(b.decode("utf-8", "replace")) for b in final]

    def _tag_alone(self, pipeline: Pipeline, block: bytes, deadline: float) -> bytes:
        assert pipeline.tagger is not None
        self.reference_tagger_starts += 1
        proc = subprocess.run(
            pipeline.tagger,
            input=block + _NUL,
            capture_output=True,
            timeout=max(0.1, deadline - time.monotonic()),
            check=False,
        )
        if proc.returncode != 0 or _NUL not in proc.stdout:
            raise MtharnessError(f"apertium {pipeline.mode}: {pipeline.tagger[0]} exit {proc.returncode}")
        return proc.stdout[: proc.stdout.index(_NUL)]
