"""Issue 28: Apertium's fast path (processes kept running, taggers pooled by state) gives every
segment exactly what the slow reference gives it alone (a tagger started for each segment).

300 real WMT23 English sentences, after a warm-up call has left the translator's taggers in used
states, in chunks of uneven size; then Apertium's own Spanish back through spa-eng.
"""

from __future__ import annotations

import shutil
import time

import pytest

from mtharness.core import MtharnessError
from mtharness.translators.apertium import ApertiumTranslator
from mtharness.translators.apertium_reference import ReferenceApertium
from mtharness.translators.apertium_stream import StreamChain
from tests.conftest import SHARED_DATA, apertium_has

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
