"""The translation loop every run uses: chunks through a translator with a progress bar, one
direction timed (loading apart from translating), and the forward pass with its round trip.

``evaluate`` (run/evaluate.py) and the shard run (run/shard.py) both translate through
``translate_round_trip``, so a full run and a shard translate, time and report the same way.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from tqdm.auto import tqdm

from mtharness.core import Direction, DirectionResult, LanguagePair
from mtharness.translators import base
from mtharness.translators.base import SegmentFailed, Translator, check_outputs

TICK_S = 1.0  # a terminal's bar is redrawn this often (elapsed time moves) while a batch decodes


@contextmanager
def _ticking(bar: Any, every: float) -> Iterator[None]:
    """Redraw the bar every ``every`` seconds from a helper thread, so a long batch still shows the
    clock moving; only on a terminal (a log file would fill with redraws)."""
    stop = threading.Event()

    def tick() -> None:
        while not stop.wait(every):
            bar.refresh()

    thread = threading.Thread(target=tick, name="mtharness-progress", daemon=True)
    if not bar.disable and getattr(bar.fp, "isatty", lambda: False)():
        thread.start()
    try:
        yield
    finally:
        stop.set()
        if thread.is_alive():
            thread.join()


def translate_all(
    translator: Translator,
    texts: Sequence[str],
    src: str,
    tgt: str,
    chunk_size: int = 256,
    progress: bool = True,
    desc: str = "",
    ids: Sequence[str] | None = None,
) -> list[str]:
    """Translate in chunks, so a cache can persist finished chunks, with a progress bar.

    The bar advances as the backend reports finished batches (base.set_progress: hf, ct2, llm, and
    cache hits at once), else once per chunk; reporting never changes which segments are batched.
    ``ids`` (the segment ids, aligned with ``texts``) name the segment in a backend's failure.
    """
    outputs: list[str] = []
    size = max(1, chunk_size)
    bar = tqdm(
        total=len(texts), desc=desc or f"{src}->{tgt}", unit="seg", disable=not progress, mininterval=0.5
    )

    def step(n: int) -> None:
        # the last step is counted without a redraw: closing the bar draws 100% once (drawing it on
        # the update as well showed the finished bar twice in a log file, where no carriage return
        # overwrites it)
        if n > 0 and bar.n + n >= len(texts):
            bar.mininterval = float("inf")
        if n > 0:
            bar.update(n)

    with bar, _ticking(bar, TICK_S):
        for start in range(0, len(texts), size):
            chunk = list(texts[start : start + size])
            done = 0

            def advance(n: int, limit: int = len(chunk)) -> None:
                nonlocal done
                n = min(n, limit - done)  # never past this chunk, whatever a backend reports
                if n > 0:
                    done += n
                    step(n)

            advance.status = bar.set_postfix_str  # type: ignore[attr-defined]  # retries and waits
            base.set_progress(translator, advance if progress else None)
            try:
                out = translator.translate(chunk, src, tgt)
            except SegmentFailed as exc:
                index = start + chunk.index(exc.text) if exc.text in chunk else None
                name = ids[index] if ids is not None and index is not None else index
                raise exc.at(f"segment {name} ({src}->{tgt})") from None
            finally:
                base.set_progress(translator, None)
            outputs.extend(check_outputs(translator.name, chunk, out))
            step(len(chunk) - done)
    return outputs


def translate_direction(
    translator: Translator,
    direction: Direction,
    texts: Sequence[str],
    pair: LanguagePair,
    chunk_size: int = 256,
    progress: bool = True,
    desc: str = "",
    ids: Sequence[str] | None = None,
) -> DirectionResult:
    """One direction, timed in two parts: ``load_seconds`` (base.prepare: loading or converting the
    model) and ``seconds`` (translating only), so sentences/s measures translation, not loading."""
    start = time.perf_counter()
    base.prepare(translator, texts, pair.src, pair.tgt)
    loaded = time.perf_counter()
    outputs = translate_all(translator, texts, pair.src, pair.tgt, chunk_size, progress, desc, ids)
    done = time.perf_counter()
    return DirectionResult(direction, pair, outputs, seconds=done - loaded, load_seconds=loaded - start)


def translate_round_trip(
    translator: Translator,
    texts: Sequence[str],
    pair: LanguagePair,
    round_trip: bool = True,
    chunk_size: int = 256,
    progress: bool = True,
    ids: Sequence[str] | None = None,
    labels: tuple[str, str] = ("forward", "back"),
) -> tuple[DirectionResult, DirectionResult | None]:
    """The forward direction, then (``round_trip``) its outputs back into the source language.

    ``labels`` start the progress bars' descriptions (followed by the direction's pair).
    """
    forward = translate_direction(
        translator, "forward", texts, pair, chunk_size, progress, f"{labels[0]} {pair}", ids
    )
    if not round_trip:
        return forward, None
    rpair = pair.reversed()
    back = translate_direction(
        translator, "round_trip", forward.outputs, rpair, chunk_size, progress, f"{labels[1]} {rpair}", ids
    )
    return forward, back
