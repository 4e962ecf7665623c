"""Shared fixtures. Tests are hermetic: no network, hub access switched off."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

# tiny model fixtures (tiny_marian, tiny_nllb, tiny_m2m100, tiny_metricx) for the hf/ct2/cache tests, COMET's
# environment and checkpoints, and the served tiny chat LM
pytest_plugins = [
    "tests.helpers.neural_fixtures",
    "tests.helpers.comet_fixtures",
    "tests.helpers.served_fixtures",  # the session's `transformers serve` (served)
]

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

# Property tests draw the same examples on every run, so a CI run never meets a new random one; a
# random search (new examples each run, saved in .hypothesis/) by hand: --hypothesis-profile=random
hypothesis_settings.register_profile("reproducible", derandomize=True)
hypothesis_settings.register_profile("random", derandomize=False)
hypothesis_settings.load_profile("reproducible")  # the command line's --hypothesis-profile comes after

REPO = Path(__file__).resolve().parents[1]
# The per-user cache (host.user_cache_dir: the unpacked language-ID model, serve indexes of read-only
# folders) inside the clone for the whole test session: every test process shares one unpacked model,
# and a test run writes nothing to the user's own ~/.cache.
os.environ["XDG_CACHE_HOME"] = str(REPO / ".cache" / "xdg")
SHARED_DATA = Path(os.environ.get("MTHARNESS_DATA", REPO.parent / "shared" / "data"))
WMT23 = SHARED_DATA / "wmt23"


def apertium_has(mode: str) -> bool:
    return mode in _apertium_modes()


@functools.cache
def _apertium_modes() -> tuple[str, ...]:
    """`apertium -l`, asked once per session (the installed modes do not change while tests run)."""
    if shutil.which("apertium") is None:
        return ()
    out = subprocess.run(["apertium", "-l"], capture_output=True, text=True, check=False).stdout
    return tuple(out.split())


@pytest.fixture(scope="session")
def wmt23() -> Path:
    """The WMT23 pack in ../shared/data (CI has it; a user's clone may not)."""
    if not (WMT23 / "en-de" / "src.en").exists():
        pytest.skip(f"WMT23 data not found at {WMT23} (set MTHARNESS_DATA to the shared/data folder)")
    return WMT23


@pytest.fixture(scope="session")
def apertium() -> None:
    if not apertium_has("eng-spa"):
        pytest.skip(
            "Apertium eng-spa not installed (apt-get install apertium apertium-eng-spa; make test does)"
        )


@pytest.fixture
def results_dir(tmp_path: Path) -> Path:
    return tmp_path / "results"


def compose(overrides: Sequence[str] = ()):  # type: ignore[no-untyped-def]
    """Compose configs/evaluate.yaml the way `mtharness run` does, with overrides."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    from mtharness.cli.run import config_dir

    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        return hydra_compose(config_name="evaluate", overrides=list(overrides), return_hydra_config=False)


@pytest.fixture
def composed() -> Iterator[object]:
    yield compose


def run_cli(args: Sequence[str], cwd: Path, env: dict[str, str] | None = None, timeout: int = 300):  # type: ignore[no-untyped-def]
    """Run the installed CLI the way a user does (python -m mtharness)."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "mtharness", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


# A test's needs follow from the fixtures it takes, so the markers cannot drift from the code:
# `pytest -m "not apertium"` or `-m "not shared_data"` deselects exactly the tests that would skip.
FIXTURE_MARKERS = {
    "apertium": "apertium",
    "wmt23": "shared_data",
    "tiny_marian": "hf",
    "tiny_nllb": "hf",
    "tiny_m2m100": "hf",
    "tiny_metricx": "hf",
}


# Tests run on xdist workers (`make test`: -n N --dist loadgroup). One worker owns each group:
# a module's tests stay together (its module fixtures are built once), every SLURM test shares the
# one-node cluster from one worker, and every test of the session's `transformers serve` server
# (the `served` fixture) runs where that server was started.
# Long groups are sent out first, so none starts last and leaves the other workers idle: the bench
# smoke test (the longest single test: it starts its own servers), then groups holding a test with
# one of HEAVY_MARKS, then the rest in collection order.
FIRST = ("tests/scripts/test_bench.py",)
HEAVY_MARKS = ("slow", "comet", "serve", "slurm", "browser")


def _group(item: pytest.Item) -> str:
    if item.get_closest_marker("slurm") is not None:
        return "slurm"
    if "served" in getattr(item, "fixturenames", ()):
        return "served"
    return item.nodeid.split("::", 1)[0]  # the module


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the groups into the node ids
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        for fixture, marker in FIXTURE_MARKERS.items():
            if fixture in getattr(item, "fixturenames", ()) and item.get_closest_marker(marker) is None:
                item.add_marker(getattr(pytest.mark, marker))
    if not getattr(config.option, "loadgroup", False):  # set on each worker of `--dist loadgroup`
        return  # a plain run keeps pytest's order and marks
    groups = {item.nodeid: _group(item) for item in items}
    heavy = {groups[i.nodeid] for i in items if any(i.get_closest_marker(m) for m in HEAVY_MARKS)}
    for item in items:
        item.add_marker(pytest.mark.xdist_group(groups[item.nodeid]))

    def rank(item: pytest.Item) -> int:
        group = groups[item.nodeid]
        return 0 if group in FIRST else 1 if group in heavy else 2

    items.sort(key=rank)  # stable: within a rank, as collected


UNGROUPED = (
    "pytest-xdist cannot group tests (--dist loadgroup) under pytest {version}: "
    "pip install 'pytest<9.2' (the dev extra's pin), or run without -n"
)


def _pytest_version() -> tuple[int, ...]:
    return tuple(int(part) for part in pytest.__version__.split(".")[:2] if part.isdigit())


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("dist", "no") == "loadgroup" and _pytest_version() >= (9, 2):
        raise pytest.UsageError(UNGROUPED.format(version=pytest.__version__))


def pytest_collection_finish(session: pytest.Session) -> None:
    """A worker whose groups did not reach its node ids stops the run (a loud failure, not a slow one)."""
    grouped = any("@" in item.nodeid for item in session.items)
    if getattr(session.config.option, "loadgroup", False) and session.items and not grouped:
        raise pytest.UsageError(UNGROUPED.format(version=pytest.__version__))
