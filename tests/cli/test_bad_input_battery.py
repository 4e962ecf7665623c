"""A battery of bad inputs and failing environments through the real console script.

Every case must end the way the brief promises: exit 2 (130 for Ctrl-C), exactly one line on stderr,
no traceback anywhere, and no scores.json written. Cases run two at a time (each is its own process).
Disk-full and read-only cases use real small tmpfs mounts (root); without mount rights they fall back
to a read-only folder by permissions and skip the disk-full cases, saying so.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from mtharness.data.loaders import SAMPLE_DIR
from tests.conftest import REPO

pytestmark = pytest.mark.slow  # dozens of console-script runs; CI runs it, the quick loop skips it

SCRIPT = Path(sys.executable).with_name("mtharness")
QUIET = ["progress=false", "validity.langid.enabled=false"]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO / "src"), "PYTHONWARNINGS": "ignore"}


def _sample(name: str, n: int) -> str:
    return "".join(f"{line}\n" for line in (SAMPLE_DIR / name).read_text(encoding="utf-8").split("\n")[:n])


def _mount_tmpfs(where: Path, options: str) -> bool:
    """A real small filesystem (root only); False where mounting is not allowed."""
    where.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        return False
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)], capture_output=True)
    return proc.returncode == 0


def _fill(folder: Path) -> None:
    """Write zeros until the filesystem under ``folder`` is full."""
    with open(folder / "filler", "wb") as fh:
        try:
            while True:
                fh.write(b"\0" * 65536)
                fh.flush()
        except OSError:
            pass


@dataclass
class World:
    root: Path
    mounts: list[Path] = field(default_factory=list)
    full: Path | None = None  # a full filesystem
    small: Path | None = None  # room for a few cache pages, not for a whole run's cache
    readonly: Path | None = None

    def path(self, *parts: str) -> Path:
        return self.root.joinpath(*parts)


def _finished_run(world: World) -> Path:
    run = world.path("finished")
    proc = subprocess.run(
        [
            str(SCRIPT),
            "run",
            "translator=echo",
            "limit=5",
            "cache.enabled=false",
            *QUIET,
            f"hydra.run.dir={run}",
        ],
        cwd=world.root,
        env=_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return run


def _write_caches(world: World) -> None:
    """A damaged cache (pages overwritten), one with another table layout, one that is not SQLite."""
    good = world.path("cache_damaged", "translations.sqlite")
    good.parent.mkdir()
    conn = sqlite3.connect(good)
    conn.execute("CREATE TABLE translations (system TEXT, pair TEXT, source_sha256 TEXT, output TEXT)")
    conn.executemany(
        "INSERT INTO translations VALUES (?, ?, ?, ?)",
        [(f"s{i}", "en-es", "x" * 64, "y") for i in range(400)],
    )
    conn.commit()
    conn.close()
    data = bytearray(good.read_bytes())
    for i in range(4096 + 16, len(data), 5):  # page 1 (the header) stays readable, the rest is garbage
        data[i] = 0xA5
    good.write_bytes(bytes(data))
    foreign = world.path("cache_foreign", "translations.sqlite")
    foreign.parent.mkdir()
    conn = sqlite3.connect(foreign)
    conn.execute("CREATE TABLE translations (id INTEGER PRIMARY KEY, src TEXT, tgt TEXT)")
    conn.commit()
    conn.close()
    world.path("cache_text").mkdir()
    world.path("cache_text", "translations.sqlite").write_text("not a database\n" * 100)


def _write_data(world: World, run: Path) -> None:
    world.path("src.en").write_text(_sample("sample.en", 5), encoding="utf-8")
    world.path("ref.es").write_text(_sample("sample.es", 5), encoding="utf-8")
    world.path("ref4.es").write_text(_sample("sample.es", 4), encoding="utf-8")
    world.path("latin1.en").write_bytes("caf\xe9 au lait\n".encode("latin-1"))
    world.path("empty.en").write_text("", encoding="utf-8")
    world.path("blank.en").write_text("\n  \n\t\n", encoding="utf-8")
    world.path("blank.es").write_text("a\nb\nc\n", encoding="utf-8")
    words = " ".join(f"w{i % 9973}" for i in range(330_000))  # one 2 MB line
    world.path("huge.en").write_text(f"{words}\nshort\n", encoding="utf-8")
    world.path("huge.es").write_text(f"{words[::-1]}\ncorto\n", encoding="utf-8")
    world.path("a_file").write_text("x\n", encoding="utf-8")
    world.path("jsondir").mkdir()
    payload = json.loads((run / "scores.json").read_text(encoding="utf-8"))
    payload["scores"]["forward"]["BLEU"]["score"] = "abc"
    world.path("board", "bad").mkdir(parents=True)
    world.path("board", "bad", "scores.json").write_text(json.dumps(payload), encoding="utf-8")
    bad_rate = json.loads((run / "scores.json").read_text(encoding="utf-8"))
    bad_rate["copy_rate"] = "abc"
    bad_run = world.path("bad_rate_run")
    bad_run.mkdir()
    for name in ("segments.jsonl", "hyp.es.txt"):
        (bad_run / name).write_bytes((run / name).read_bytes())
    (bad_run / "scores.json").write_text(json.dumps(bad_rate), encoding="utf-8")


def _write_baselines(world: World, run: Path) -> None:
    proc = subprocess.run(
        [str(SCRIPT), "baseline", "save", str(run), str(world.path("base.json"))],
        cwd=world.root,
        env=_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    base = json.loads(world.path("base.json").read_text(encoding="utf-8"))
    edits: dict[str, Callable[[dict], None]] = {
        "base_rate_text.json": lambda b: b["rates"].update(copy_rate="abc"),
        # a null rate means "not measured" (run.record.parse_rate); NaN is never a rate
        "base_rate_nan.json": lambda b: b["rates"].update(copy_rate=float("nan")),
        "base_score_text.json": lambda b: b["scores"]["forward"]["BLEU"].update(score="high"),
        "base_score_bool.json": lambda b: b["scores"]["forward"]["BLEU"].update(score=True),
    }
    for name, edit in edits.items():
        doc = json.loads(json.dumps(base))
        edit(doc)
        world.path(name).write_text(json.dumps(doc), encoding="utf-8")
    doc = json.loads(json.dumps(base))
    text = json.dumps(doc).replace(
        f'"score": {doc["scores"]["forward"]["chrF2"]["score"]}', '"score": NaN', 1
    )
    world.path("base_score_nan.json").write_text(text, encoding="utf-8")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    if not SCRIPT.exists():
        pytest.skip(f"console script {SCRIPT} not installed (pip install -e .)")
    w = World(tmp_path_factory.mktemp("battery"))
    if _mount_tmpfs(w.path("full"), "size=256k"):
        w.mounts.append(w.path("full"))
        _fill(w.path("full"))
        w.full = w.path("full")
    if _mount_tmpfs(w.path("small"), "size=96k"):
        w.mounts.append(w.path("small"))
        w.small = w.path("small")
    if _mount_tmpfs(w.path("ro"), "ro,size=64k"):
        w.mounts.append(w.path("ro"))
        w.readonly = w.path("ro")
    elif os.geteuid() != 0:
        w.path("ro").chmod(0o555)
        w.readonly = w.path("ro")
    run = _finished_run(w)
    _write_data(w, run)
    _write_caches(w)
    _write_baselines(w, run)
    try:
        yield w
    finally:
        for mount in w.mounts:
            subprocess.run(["umount", str(mount)], check=False)
        if w.path("ro").exists():
            w.path("ro").chmod(0o755)


def run_args(case: str, *overrides: str, translator: str = "echo") -> list[str]:
    """`mtharness run` on the 5-line files, into the case's own folder, cache off unless overridden."""
    data = [
        "dataset=files",
        "dataset.src=src.en",
        "dataset.refs=[ref.es]",
        "dataset.src_lang=en",
        "dataset.tgt_lang=es",
    ]
    return [
        "run",
        *data,
        f"translator={translator}",
        "cache.enabled=false",
        *QUIET,
        f"hydra.run.dir=runs/{case}",
        *overrides,
    ]


# case id -> (argv, needs): needs names a World attribute that must be available (a mount)
CASES: dict[str, tuple[list[str], str | None]] = {
    # non-numeric or fractional values of numeric keys, non-boolean flags
    "limit_word": (run_args("limit_word", "limit=abc"), None),
    "limit_fraction": (run_args("limit_fraction", "limit=2.5"), None),
    "limit_zero": (run_args("limit_zero", "limit=0"), None),
    "limit_bool": (run_args("limit_bool", "limit=true"), None),
    "chunk_size_zero": (run_args("chunk_size_zero", "chunk_size=0"), None),
    "chunk_size_word": (run_args("chunk_size_word", "chunk_size=big"), None),
    "threads_negative": (run_args("threads_negative", "threads=-1"), None),
    "threads_fraction": (run_args("threads_fraction", "threads=1.5"), None),
    "seed_word": (run_args("seed_word", "seed=lucky"), None),
    "shard_count_fraction": (run_args("shard_count_fraction", "shard.count=2.5", "shard.index=0"), None),
    "shard_index_outside": (run_args("shard_index_outside", "shard.count=2", "shard.index=5"), None),
    "round_trip_word": (run_args("round_trip_word", "round_trip=maybe"), None),
    "cache_enabled_word": (run_args("cache_enabled_word", "cache.enabled=perhaps"), None),
    "overwrite_word": (run_args("overwrite_word", "overwrite=sometimes"), None),
    # data files
    "src_missing": (run_args("src_missing", "dataset.src=nope.en"), None),
    "src_directory": (run_args("src_directory", "dataset.src=jsondir"), None),
    "src_not_utf8": (run_args("src_not_utf8", "dataset.src=latin1.en", "dataset.refs=[]"), None),
    "src_empty_file": (run_args("src_empty_file", "dataset.src=empty.en", "dataset.refs=[]"), None),
    "ref_line_count": (run_args("ref_line_count", "dataset.refs=[ref4.es]"), None),
    "src_all_blank": (run_args("src_all_blank", "dataset.src=blank.en", "dataset.refs=[blank.es]"), None),
    "line_2mb_ter": (
        run_args("line_2mb_ter", "dataset.src=huge.en", "dataset.refs=[huge.es]", "round_trip=false"),
        None,
    ),
    "files_forward_missing": (
        run_args("files_forward_missing", "translator.forward=nope.es", translator="files"),
        None,
    ),
    # the run folder
    "folder_finished": (run_args("folder_finished", "hydra.run.dir=finished"), None),
    "folder_readonly": (run_args("folder_readonly", "hydra.run.dir=ro/run"), "readonly"),
    "folder_disk_full": (run_args("folder_disk_full", "hydra.run.dir=full/run"), "full"),
    # the translation cache
    "cache_disk_full": (
        run_args("cache_disk_full", "cache.enabled=true", "cache.dir=small/cache", "chunk_size=2"),
        "small",
    ),
    "cache_damaged": (run_args("cache_damaged", "cache.enabled=true", "cache.dir=cache_damaged"), None),
    "cache_foreign_layout": (
        run_args("cache_foreign_layout", "cache.enabled=true", "cache.dir=cache_foreign"),
        None,
    ),
    "cache_not_sqlite": (run_args("cache_not_sqlite", "cache.enabled=true", "cache.dir=cache_text"), None),
    "cache_dir_is_file": (run_args("cache_dir_is_file", "cache.enabled=true", "cache.dir=a_file/sub"), None),
    # other commands
    "compare_json_directory": (
        ["compare", "finished", "--json", "jsondir", "--quiet", "--ci-n", "10", "--paired", "none"],
        None,
    ),
    "leaderboard_text_score": (["leaderboard", "board"], None),
    "gate_baseline_rate_text": (["gate", "--baseline", "base_rate_text.json", "--current", "finished"], None),
    "gate_baseline_rate_nan": (["gate", "--baseline", "base_rate_nan.json", "--current", "finished"], None),
    "gate_baseline_score_text": (
        ["gate", "--baseline", "base_score_text.json", "--current", "finished"],
        None,
    ),
    "gate_baseline_score_bool": (
        ["gate", "--baseline", "base_score_bool.json", "--current", "finished"],
        None,
    ),
    "gate_baseline_score_nan": (["gate", "--baseline", "base_score_nan.json", "--current", "finished"], None),
    "gate_current_rate_text": (["gate", "--baseline", "base.json", "--current", "bad_rate_run"], None),
    "baseline_save_into_directory": (["baseline", "save", "finished", "jsondir"], None),
    "report_out_directory": (["report", "finished", "--out", "jsondir", "--ci-n", "10"], None),
}


def _scores_files(root: Path) -> dict[str, float]:
    return {str(p): p.stat().st_mtime for p in root.rglob("scores.json")}


@dataclass
class Outcome:
    returncode: int
    stdout: str
    stderr: str
    seconds: float


@pytest.fixture(scope="module")
def outcomes(world: World) -> dict[str, Outcome]:
    """Run every available case, two at a time; record what each printed."""
    before = _scores_files(world.root)

    def one(case: str) -> tuple[str, Outcome]:
        argv, _ = CASES[case]
        start = time.perf_counter()
        proc = subprocess.run(
            [str(SCRIPT), *argv],
            cwd=world.root,
            env=_env(),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        return case, Outcome(proc.returncode, proc.stdout, proc.stderr, time.perf_counter() - start)

    runnable = [c for c, (_, needs) in CASES.items() if needs is None or getattr(world, needs) is not None]
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = dict(pool.map(one, runnable))
    assert _scores_files(world.root) == before, "a bad input wrote or touched a scores.json"
    return results


def test_battery_is_big_enough() -> None:
    assert len(CASES) >= 30


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_one_line_exit_2(case: str, world: World, outcomes: dict[str, Outcome]) -> None:
    needs = CASES[case][1]
    if needs is not None and getattr(world, needs) is None:
        pytest.skip(f"needs a {needs} filesystem: mounting a tmpfs is not allowed here (not root)")
    out = outcomes[case]
    lines = out.stderr.strip().splitlines()
    assert out.returncode == 2, (out.returncode, out.stderr[-2000:])
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("mtharness ") and ": error: " in lines[0]
    assert "Traceback" not in out.stderr + out.stdout
    assert not list(world.path("runs", case).rglob("scores.json"))


MESSAGES = {
    "limit_fraction": "limit=2.5 is not a whole number",
    "threads_negative": "threads=-1 must be",
    "folder_finished": "already holds a finished run",
    "folder_disk_full": "disk full",
    "cache_disk_full": "disk full",
    "folder_readonly": "cannot write",
    "cache_damaged": "is damaged",
    "cache_foreign_layout": "has columns",
    "compare_json_directory": "is a directory",
    "leaderboard_text_score": "not a number",
    "gate_baseline_rate_text": "'copy_rate' is 'abc', not a number",
    "line_2mb_ter": "TER would align",
    "src_all_blank": "source segments is empty",
}


@pytest.mark.parametrize("case", list(MESSAGES))
def test_messages_name_the_cause(case: str, world: World, outcomes: dict[str, Outcome]) -> None:
    if case not in outcomes:
        pytest.skip("case not runnable here (needs a tmpfs mount)")
    assert MESSAGES[case] in outcomes[case].stderr
    where = {"folder_disk_full": "full/run", "cache_disk_full": "small/cache/translations.sqlite"}
    if case in where:  # the path as the user gave it
        assert where[case] in outcomes[case].stderr


def test_disk_full_cache_stays_consistent(world: World, outcomes: dict[str, Outcome]) -> None:
    if world.small is None:
        pytest.skip("needs a small tmpfs mount (root)")
    conn = sqlite3.connect(world.small / "cache" / "translations.sqlite")
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    conn.close()


def test_finished_run_untouched_by_the_refused_run(world: World, outcomes: dict[str, Outcome]) -> None:
    overrides = (world.path("finished", ".hydra", "overrides.yaml")).read_text(encoding="utf-8")
    assert "limit=5" in overrides  # Hydra did not write the refused run's config over it


def _committed_rows(cache: Path) -> int:
    if not cache.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{cache}?mode=ro", uri=True) as conn:
            return int(conn.execute("SELECT count(*) FROM translations").fetchone()[0])
    except sqlite3.Error:  # not created yet, or locked by a frozen writer
        return 0


def _ctrl_c_default() -> None:
    """In the child before exec: SIGINT at its default, as in a terminal. A suite started in the
    background of a non-interactive shell (`make test &` in a script) inherits SIGINT ignored, and
    Python keeps an inherited SIG_IGN, so the run would never see the Ctrl-C this test sends."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.apertium
def test_ctrl_c_is_one_line_exit_130_and_keeps_finished_chunks(apertium: None, tmp_path: Path) -> None:
    """SIGINT to a real run translating with Apertium, one segment per chunk, once chunks are committed."""
    cache = tmp_path / "cache" / "translations.sqlite"
    argv = [str(SCRIPT), "run", "translator=apertium", "chunk_size=1", *QUIET, f"cache.dir={cache.parent}"]
    proc = subprocess.Popen(
        [*argv, f"hydra.run.dir={tmp_path / 'run'}"],
        cwd=tmp_path,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_ctrl_c_default,
    )
    # The run is frozen (SIGSTOP) while its cache is read, so what is seen is still true when Ctrl-C
    # lands: however loaded the machine, it cannot finish between the check and the signal.
    rows, deadline = 0, time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        proc.send_signal(signal.SIGSTOP)
        rows = _committed_rows(cache)
        if rows >= 3:
            break
        proc.send_signal(signal.SIGCONT)
        time.sleep(0.05)
    assert proc.poll() is None, "the run finished before it could be interrupted"
    # 150 sample segments there and back: fewer rows means it is still translating
    assert 3 <= rows < 300, rows
    proc.send_signal(signal.SIGINT)
    proc.send_signal(signal.SIGCONT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert err.strip().splitlines() == [err.strip()] and "interrupted (Ctrl-C)" in err
    assert "Traceback" not in out + err
    assert not (tmp_path / "run" / "scores.json").exists()
    with sqlite3.connect(cache) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        kept = conn.execute("SELECT count(*) FROM translations").fetchone()[0]
    assert kept >= rows >= 3
    # the rerun takes those segments from the cache
    done = subprocess.run(
        [*argv, "limit=3", "round_trip=false", f"hydra.run.dir={tmp_path / 'rerun'}"],
        cwd=tmp_path,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    scores = json.loads((tmp_path / "rerun" / "scores.json").read_text(encoding="utf-8"))
    assert scores["directions"]["forward"]["cache"] == {"hits": 3, "misses": 0}
