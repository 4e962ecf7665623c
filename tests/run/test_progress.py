"""Runs time loading apart from translating (load_s), say when a model loads, and move the progress
bar per decoded batch (cache hits at once) with the same outputs as without a bar; the tiny-model
config works from any working directory."""

from __future__ import annotations

import functools
import io
import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import pytest
from tqdm.auto import tqdm

from mtharness.cli.run import run_from_config
from mtharness.core import CacheCounts
from mtharness.run import translate as E  # the translation loop (evaluate and shard runs share it)
from mtharness.run.cache import CachedTranslator
from mtharness.run.record import RunRecord
from mtharness.translators.echo import EchoTranslator
from mtharness.translators.hf import HFTranslator
from tests.conftest import REPO, compose
from tests.helpers.neural_fixtures import SAMPLE_EN

TEXTS = [line for line in SAMPLE_EN.read_text(encoding="utf-8").splitlines() if line][:8]


class RecordingBar(tqdm):  # type: ignore[misc]
    """The real tqdm bar, remembering every step it was moved by."""

    steps: ClassVar[list[int]] = []

    def update(self, n: float | None = 1) -> bool | None:
        if n:
            RecordingBar.steps.append(int(n))
        return super().update(n)


@pytest.fixture
def bar(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    RecordingBar.steps = []
    monkeypatch.setattr(E, "tqdm", RecordingBar)
    return RecordingBar.steps


def test_backend_without_reports_moves_once_per_chunk(bar: list[int]) -> None:
    out = E.translate_all(EchoTranslator(), TEXTS, "en", "es", chunk_size=3, progress=True)
    assert out == TEXTS and bar == [3, 3, 2]


@pytest.mark.hf
def test_bar_moves_per_batch_and_per_hit_with_the_same_outputs(
    tiny_marian: Path, tmp_path: Path, bar: list[int]
) -> None:
    def hf() -> HFTranslator:
        return HFTranslator(model=str(tiny_marian), num_beams=1, max_new_tokens=32, batch_size=2)

    texts = [*TEXTS, TEXTS[5]]  # a repeated miss is translated once, counted twice
    plain = E.translate_all(hf(), texts, "en", "es", chunk_size=64, progress=False)
    assert bar == [9]  # no bar shown: no reports asked for, one step per chunk
    cached = CachedTranslator(hf(), tmp_path / "cache")
    E.translate_all(cached, TEXTS[:3], "en", "es", chunk_size=64, progress=False)  # 3 hits to come
    bar.clear()
    out = E.translate_all(cached, texts, "en", "es", chunk_size=64, progress=True)
    assert out == plain  # reporting changed no batch
    # 3 hits at once, then the 5 misses in batches of 2, then the repeated segment
    assert bar == [3, 2, 2, 1, 1]
    assert cached.cache_counts()["en-es"] == CacheCounts(hits=3, misses=3 + 6)


class LoadedBeforeTranslating(HFTranslator):
    """The real hf translator, noting whether its model was loaded when translate() began."""

    seen: ClassVar[list[bool]] = []
    made: ClassVar[list[HFTranslator]] = []

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        LoadedBeforeTranslating.made.append(self)

    def translate(self, texts: Sequence[str], src: str, tgt: str) -> list[str]:
        LoadedBeforeTranslating.seen.append(bool(self._loaded))
        return super().translate(texts, src, tgt)


@pytest.mark.hf
def test_load_time_is_reported_apart_from_translation(tiny_marian: Path, tmp_path: Path) -> None:
    LoadedBeforeTranslating.seen = []
    overrides = [
        "translator=tiny_marian_copy",
        f"translator._target_={__name__}.LoadedBeforeTranslating",
        f"translator.model={tiny_marian}",
        "metrics=[chrf]", "progress=false", "limit=12", "chunk_size=4", "~validity",
        f"cache.dir={tmp_path / 'cache'}",
    ]  # fmt: skip
    record = run_from_config(compose(overrides), tmp_path / "a")
    assert isinstance(record, RunRecord)
    payload = record.to_json()  # what scores.json says
    assert LoadedBeforeTranslating.seen == [True] * 6  # 3 chunks each way, all after loading
    fwd, rt = payload["directions"]["forward"], payload["directions"]["round_trip"]
    assert fwd["load_s"] > 0 and fwd["seconds"] > 0
    assert fwd["sentences_per_s"] == pytest.approx(12 / fwd["seconds"], rel=0.01)
    assert payload["timings"]["load_s"] == pytest.approx(fwd["load_s"] + rt["load_s"], abs=2e-4)
    assert payload["timings"]["forward_s"] == fwd["seconds"]
    # a fully cached rerun loads nothing
    LoadedBeforeTranslating.seen, LoadedBeforeTranslating.made = [], []
    again = run_from_config(compose(overrides), tmp_path / "b")
    assert isinstance(again, RunRecord)
    assert LoadedBeforeTranslating.seen == []  # the cache answered everything
    assert [t._loaded for t in LoadedBeforeTranslating.made] == [{}]  # and prepare() loaded nothing
    assert again.forward is not None and again.forward.cache == CacheCounts(hits=12, misses=0)


def _env() -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": f"{REPO / 'src'}{os.pathsep}{REPO}"}
    env.pop("MTHARNESS_TINY_MODELS", None)  # the config's own default: repo:tests/fixtures
    return env


def _scores(results: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted(results.glob("runs/*/*/scores.json"))]


@pytest.mark.hf
def test_tiny_model_config_runs_from_another_directory(tiny_marian: Path, tmp_path: Path) -> None:
    """`mtharness run translator=tiny_marian_copy limit=5` from a folder outside the checkout: the
    model loads (one line saying so), the bar reaches 100%, and a rerun loads nothing, not even torch."""
    args = ["run", "translator=tiny_marian_copy", "limit=5", f"cache.dir={tmp_path / 'cache'}"]
    first = subprocess.run(
        [sys.executable, "-m", "mtharness", *args],
        cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert first.returncode == 0, first.stderr[-2000:]
    log = first.stdout + first.stderr
    assert f"loading model {tiny_marian} (transformers" in log
    assert f"loaded model {tiny_marian} in " in log
    assert "forward en-es: 100%" in first.stderr
    [payload] = _scores(tmp_path / "results")
    assert payload["directions"]["forward"]["load_s"] > 0
    code = (
        "import sys\n"
        "from mtharness.cli import main\n"
        f"rc = main({args!r})\n"
        "print('RC', rc, 'torch' in sys.modules)\n"
    )
    second = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert second.stdout.strip().endswith("RC 0 False"), second.stderr[-2000:]
    assert "loading model" not in second.stdout + second.stderr
    runs = _scores(tmp_path / "results")
    assert len(runs) == 2
    assert [r["directions"]["forward"]["cache"] for r in runs] == [
        {"hits": 0, "misses": 5},
        {"hits": 5, "misses": 0},
    ]
    assert runs[0]["scores"] == runs[1]["scores"]


class SlowEcho(EchoTranslator):
    """A backend whose one call lasts until ``done()`` (at most ``bound_s``), reporting nothing meanwhile."""

    def __init__(self, done: Any = lambda: False, bound_s: float = 0.3) -> None:
        super().__init__()
        self.done, self.bound_s = done, bound_s

    def translate(self, texts: Sequence[str], src: str, tgt: str) -> list[str]:
        deadline = time.monotonic() + self.bound_s
        while not self.done() and time.monotonic() < deadline:
            time.sleep(0.01)
        return super().translate(texts, src, tgt)


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_the_bar_keeps_redrawing_while_a_batch_decodes(monkeypatch: pytest.MonkeyPatch) -> None:
    screen, log = Terminal(), io.StringIO()
    monkeypatch.setattr(E, "TICK_S", 0.05)
    monkeypatch.setattr(E, "tqdm", functools.partial(tqdm, file=screen))
    # the call lasts until the screen shows the redraws (bounded): no guess at how fast a busy machine ticks
    slow = SlowEcho(lambda: screen.getvalue().count("0/2") >= 4, bound_s=60)
    assert E.translate_all(slow, TEXTS[:2], "en", "es", progress=True) == TEXTS[:2]
    redraws = screen.getvalue().count("0/2")
    assert redraws >= 4, screen.getvalue()  # the clock moved while nothing was finished
    monkeypatch.setattr(E, "tqdm", functools.partial(tqdm, file=log))
    E.translate_all(SlowEcho(), TEXTS[:2], "en", "es", progress=True)
    assert log.getvalue().count("0/2") == 1  # a log file gets no ticking redraws


class EagerBar(tqdm):  # type: ignore[misc]
    """The real tqdm bar, drawing on every update (no minimum interval), as a slow run's bar does."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.update(mininterval=0, miniters=1)
        super().__init__(*args, **kwargs)
        self.mininterval, self.miniters, self.dynamic_miniters = 0, 1, False


def test_the_finished_bar_is_drawn_once(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(E, "tqdm", EagerBar)
    E.translate_all(EchoTranslator(), TEXTS, "en", "es", chunk_size=3, progress=True, desc="fwd")
    drawn = capsys.readouterr().err.replace("\r", "\n")
    assert drawn.count("100%") == 1 and drawn.count("8/8") == 1
