"""Issue 28: Apertium's fast path (processes kept running, taggers pooled by state) gives every
segment exactly what the slow reference gives it alone (a tagger started for each segment).

300 real WMT23 English sentences, after a warm-up call has left the translator's taggers in used
states, in chunks of uneven size; then Apertium's own Spanish back through spa-eng.
"""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time
from pathlib import Path

import pytest

from mtharness.cli import run as cli_run
from mtharness.core import MtharnessError
from mtharness.run.record import RunRecord
from mtharness.translators.apertium import ApertiumTranslator
from mtharness.translators.apertium_reference import ReferenceApertium
from mtharness.translators.apertium_stream import StreamChain
from tests.conftest import SHARED_DATA, apertium_has, compose

SOURCE = SHARED_DATA / "wmt23" / "en-zh" / "src.en"


@pytest.fixture(scope="module")
def lines(apertium: None) -> list[str]:
    if not SOURCE.exists():
        pytest.skip(f"WMT23 data not found at {SOURCE} (set MTHARNESS_DATA to the shared/data folder)")
    return SOURCE.read_text(encoding="utf-8").split("\n")


@pytest.mark.apertium
@pytest.mark.shared_data
def test_every_segment_equals_it_tagged_alone(lines: list[str]) -> None:
    texts = lines[1000:1300]
    assert len(texts) == 300 and all(t.strip() for t in texts)
    fast = ApertiumTranslator()
    fast.translate(lines[:60], "en", "es")  # leaves reporting taggers behind for the calls below
    out: list[str] = []
    for start, end in ((0, 7), (7, 71), (71, 300)):
        out += fast.translate(texts[start:end], "en", "es")
    reference = ReferenceApertium()
    alone = reference.translate(texts, "en", "es")
    assert [i for i, (a, b) in enumerate(zip(out, alone, strict=True)) if a != b] == []
    # the pool did its job: far fewer taggers than segments (the reference starts one per segment)
    assert 0 < fast.tagger_starts < reference.reference_tagger_starts / 4
    if apertium_has("spa-eng"):
        back = fast.translate(alone[:80], "es", "en")
        assert back == reference.translate(alone[:80], "es", "en")
    fast.close()


def test_a_chain_stays_up_between_calls_and_fails_in_one_line() -> None:
    if shutil.which("cat") is None or shutil.which("stdbuf") is None:
        pytest.skip("needs cat and stdbuf")
    chain = StreamChain("test", [("cat",)])
    assert chain.run([b"a", b"", b"b c"], time.monotonic() + 60) == [b"a", b"", b"b c"]
    assert chain.run([b"d"], time.monotonic() + 60) == [b"d"] and chain.starts == 1
    chain.close()
    # a stage that writes more boundaries than it was given: the call fails, nothing shifts
    split = StreamChain("test", [("stdbuf", "-o0", "tr", "x", "\\000")])
    with pytest.raises(MtharnessError, match="past the last"):
        split.run([b"axb"], time.monotonic() + 60)
    assert split.run([b"ab"], time.monotonic() + 60) == [b"ab"] and split.starts == 2  # restarted
    split.close()
    with pytest.raises(MtharnessError, match="timed out"):
        StreamChain("test", [("sleep", "30")]).run([b"a"], time.monotonic() + 0.2)
    dead = StreamChain("test", [("false",)])
    with pytest.raises(MtharnessError, match="false exit 1"):
        dead.run([b"a"], time.monotonic() + 60)


def test_ctrl_c_while_a_chain_stops_kills_the_rest_and_goes_through() -> None:
    """close() waits for each stage to end; a Ctrl-C in that wait kills what is left and is raised
    (so the run's own handler prints its one line), instead of hanging or being swallowed."""
    chain = StreamChain("test", [("sh", "-c", "cat; exec sleep 60")])  # ignores end of input
    assert chain.run([b"a"], time.monotonic() + 60) == [b"a"]
    procs = list(chain._procs)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT))
    try:
        timer.start()
        with pytest.raises(KeyboardInterrupt):
            chain.close()  # would wait 5 s for the sleeping stage without the signal
    finally:
        timer.cancel()
        signal.signal(signal.SIGINT, previous)
    assert all(p.wait(timeout=30) is not None for p in procs)  # killed, not left running
    assert chain.run([b"b"], time.monotonic() + 60) == [b"b"] and chain.starts == 2  # usable again
    chain._procs[0].kill()
    chain.close()


@pytest.mark.apertium
def test_a_run_stops_apertiums_processes_before_it_returns(
    apertium: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`mtharness run` closes its translator itself, so a Ctrl-C while the processes stop is the run's
    one line (exit 130), not an "Exception ignored" traceback from a finalizer at garbage collection or
    interpreter exit. The translator is kept referenced here, so only an explicit close stops them."""
    psutil = pytest.importorskip("psutil")
    kept: list[object] = []
    build = cli_run.build_cached_translator
    monkeypatch.setattr(cli_run, "build_cached_translator", lambda *a: kept.append(build(*a)) or kept[-1])
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    overrides = ["translator=apertium", "limit=3", "progress=false", "validity.langid.enabled=false"]
    cfg = compose([*overrides, f"results_dir={tmp_path}"])
    record = cli_run.run_from_config(cfg, tmp_path / "run")
    assert isinstance(record, RunRecord) and record.n_segments == 3 and len(kept) == 1
    left = [p for p in psutil.Process().children(recursive=True) if p.pid not in before]
    assert [p.name() for p in left if p.is_running() and p.status() != psutil.STATUS_ZOMBIE] == []
