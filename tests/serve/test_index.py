"""The run index of `mtharness serve`: incremental refresh, damaged runs and index files, two processes
at once, traversal ids, and the runs page's filters, sort, paging and fold (checked against the
leaderboard the CLI writes for the same folder).

Runs are made by `mtharness run translator=files` on the bundled sample (two systems, real files);
more runs are copies of their scores.json with other dates, names and settings.
"""

from __future__ import annotations

import json
import multiprocessing
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from mtharness.cli import main as cli_main
from mtharness.cli.run import run_from_config
from mtharness.core import MtharnessError
from mtharness.data.loaders import SAMPLE_DIR, load_sample
from mtharness.run.reader import read_run
from mtharness.serve.index import RunIndex
from mtharness.serve.query import RunQuery
from tests.conftest import compose


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def files_run(work: Path, folder: Path, forward: list[str], back: list[str], *overrides: str) -> Path:
    """One real `mtharness run translator=files` (the CLI's run, composed from configs/)."""
    fwd = _write(work / f"{folder.name}.es", forward)
    bwd = _write(work / f"{folder.name}.back.en", back)
    cfg = compose(
        [
            "translator=files",
            f"translator.forward={fwd}",
            f"translator.back={bwd}",
            f"translator.source={SAMPLE_DIR / 'sample.en'}",
            "progress=false",
            f"results_dir={work / 'cache-root'}",
            *overrides,
        ]
    )
    run_from_config(cfg, folder)
    return folder


def two_systems(work: Path, results: Path) -> tuple[Path, Path]:
    """System a: the reference with every 4th word dropped; system b: a copy of the source every 3rd
    segment. Both with a round trip (the source with words dropped)."""
    sources = load_sample().sources
    spanish = (SAMPLE_DIR / "sample.es").read_text(encoding="utf-8").splitlines()
    drop = [" ".join(w for j, w in enumerate(t.split()) if j % 4 != 3) for t in spanish]
    back = [" ".join(w for j, w in enumerate(s.split()) if j % 5 != 4) for s in sources]
    copied = [s if i % 3 == 0 else t for i, (s, t) in enumerate(zip(sources, spanish, strict=True))]
    a = files_run(work, results / "a", drop, back)
    b = files_run(work, results / "b", copied, sources)
    return a, b


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("serve-runs")
    two_systems(work, work / "results")
    return work / "results"


@pytest.fixture
def results(template: Path, tmp_path: Path) -> Path:
    out = tmp_path / "results"
    shutil.copytree(template, out)
    return out


def variant(src: Path, dest: Path, **changes: Any) -> Path:
    """A copy of run folder ``src`` whose scores.json has ``changes`` applied (dotted keys reach in)."""
    shutil.copytree(src, dest)
    doc = json.loads((dest / "scores.json").read_text(encoding="utf-8"))
    for key, value in changes.items():
        node = doc
        *parents, last = key.split("__")
        for p in parents:
            node = node[p]
        node[last] = value
    (dest / "scores.json").write_text(json.dumps(doc, indent=2), encoding="utf-8")
    return dest


def test_refresh_is_incremental(results: Path) -> None:
    index = RunIndex([results])
    first = index.refresh()
    assert (first.added, first.updated, first.removed, first.damaged, first.total) == (2, 0, 0, 0, 2)
    assert index.db_path == results / ".mtharness-index.sqlite"
    again = index.refresh()
    assert (again.added, again.updated, again.removed, again.total) == (0, 0, 0, 2)

    variant(results / "a", results / "sweep" / "0", created="2030-01-01T00:00:00+00:00")
    doc = json.loads((results / "b" / "scores.json").read_text(encoding="utf-8"))
    doc["translator"]["name"] = "renamed"
    (results / "b" / "scores.json").write_text(json.dumps(doc), encoding="utf-8")
    shutil.rmtree(results / "a")
    counts = index.refresh()
    assert (counts.added, counts.updated, counts.removed, counts.total) == (1, 1, 1, 2)
    rows = {r["run_id"]: r for r in index.query().rows}
    assert set(rows) == {"0/b", "0/sweep/0"}
    assert rows["0/b"]["translator"] == "renamed"
    assert rows["0/sweep/0"]["created"] == "2030-01-01T00:00:00+00:00"
    # a second index object on the same file sees the same (nothing to do)
    other = RunIndex([results]).refresh()
    assert (other.added, other.updated, other.removed, other.rebuilt) == (0, 0, 0, False)


def test_damaged_runs_are_listed_with_the_readers_reason(results: Path) -> None:
    bad_json = variant(results / "a", results / "bad-json")
    (bad_json / "scores.json").write_text('{"schema_version": 1, "dataset": ', encoding="utf-8")
    variant(results / "a", results / "future", schema_version=99)
    variant(results / "a", results / "no-dataset-name", dataset__name=7)
    half = results / "half"
    half.mkdir()
    shutil.copy(results / "a" / "segments.jsonl", half / "segments.jsonl")  # scores.json not yet written
    index = RunIndex([results])
    counts = index.refresh()
    assert (counts.total, counts.damaged) == (6, 4)
    page = index.query(RunQuery(status="damaged", sort="run_id", limit=10))
    assert [r["run_id"] for r in page.rows] == ["0/bad-json", "0/future", "0/half", "0/no-dataset-name"]
    for row in page.rows:
        with pytest.raises(MtharnessError) as caught:
            read_run(results / row["rel"])
        assert row["reason"] == str(caught.value) and "\n" not in row["reason"]
        assert row["scores"] == {} and row["dataset"] is None
    assert page.facets.status == {"damaged": 4, "ok": 2}
    # every sort and fold keeps damaged runs listed (last where they lack the value), never raises
    for sort in ("score:chrF2", "rt:BLEU", "ci:chrF2", "created", "translator", "cost"):
        rows = index.query(RunQuery(sort=sort, fold=True)).rows
        assert len(rows) == 6 and [r["status"] for r in rows][-4:] == ["damaged"] * 4
    # a damaged run mended: read again, now ok
    shutil.copy(results / "a" / "scores.json", half / "scores.json")
    assert index.refresh().damaged == 3
    assert index.get("0/half")["status"] == "ok"  # type: ignore[index]


def _corrupt_garbage(db: Path) -> None:
    db.write_bytes(b"this is not an SQLite file, just text " * 100)


def _corrupt_truncate(db: Path) -> None:
    data = db.read_bytes()
    db.write_bytes(data[: len(data) // 3])


def _corrupt_schema(db: Path) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE meta SET value = '999' WHERE key = 'schema_version'")


@pytest.mark.parametrize("corrupt", [_corrupt_garbage, _corrupt_truncate, _corrupt_schema])
def test_a_damaged_index_file_is_rebuilt(results: Path, corrupt: Any) -> None:
    for i in range(30):  # enough rows for the file to span many pages (a truncation cuts tables)
        variant(results / "a", results / "many" / str(i), created=f"2029-01-{i + 1:02d}T00:00:00+00:00")
    index = RunIndex([results])
    assert index.refresh().total == 32
    expected = index.query(RunQuery(limit=100, sort="run_id")).rows
    index.close()
    with sqlite3.connect(index.db_path) as conn:  # fold the WAL in so the corruption hits the data
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    corrupt(index.db_path)
    fresh = RunIndex([results])
    counts = fresh.refresh()
    assert counts.rebuilt and counts.total == 32 and counts.added == 32
    assert fresh.query(RunQuery(limit=100, sort="run_id")).rows == expected


def test_a_missing_index_file_is_built_again(results: Path) -> None:
    index = RunIndex([results])
    index.refresh()
    before = index.query(RunQuery(sort="run_id")).rows
    index.close()
    index.db_path.unlink()
    assert index.refresh().added == 2
    assert index.query(RunQuery(sort="run_id")).rows == before


def test_another_set_of_roots_gets_a_fresh_index(results: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    shutil.copytree(results / "b", other / "b")
    db = tmp_path / "index.sqlite"
    assert RunIndex([results], db).refresh().total == 2
    counts = RunIndex([results, other], db).refresh()  # run ids name roots by position: start afresh
    assert counts.rebuilt and counts.total == 3
    ids = {r["run_id"] for r in RunIndex([results, other], db).query().rows}
    assert ids == {"0/a", "0/b", "1/b"}


def _refresh_in_process(results: str, barrier: Any, out: Any) -> None:
    index = RunIndex([Path(results)])
    barrier.wait()
    counts = index.refresh()
    out.put((counts.total, counts.added))


def test_two_processes_refresh_at_once(results: Path) -> None:
    for i in range(60):
        variant(results / "a", results / "many" / str(i), created=f"2029-02-{i % 28 + 1:02d}T00:00:00+00:00")
    ctx = multiprocessing.get_context("spawn")
    barrier, out = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_refresh_in_process, args=(str(results), barrier, out)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=300)
    assert [p.exitcode for p in procs] == [0, 0]
    got = [out.get(timeout=10) for _ in procs]
    assert all(total == 62 for total, _ in got)
    assert sum(added for _, added in got) >= 62  # every run added by one of them (or both)
    index = RunIndex([results])
    counts = index.refresh()
    assert (counts.total, counts.added, counts.rebuilt) == (62, 0, False)


def test_ids_that_leave_a_root_are_refused(results: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    shutil.copytree(results / "a", outside / "run")
    (results / "link-out").symlink_to(outside / "run", target_is_directory=True)
    inside = variant(results / "a", results / "c")
    (inside / "scores.json").unlink()
    (inside / "scores.json").symlink_to(outside / "run" / "scores.json")
    (results / "a" / "secret").symlink_to(outside / "run" / "summary.md")
    index = RunIndex([results])
    index.refresh()
    ids = {r["run_id"] for r in index.query().rows}
    assert ids == {"0/a", "0/b", "0/c"}  # a symlinked folder is not followed
    assert index.get("0/c")["status"] == "damaged"  # type: ignore[index]
    assert "leads outside" in index.get("0/c")["reason"]  # type: ignore[index]
    assert index.resolve("0/a") == results / "a"
    for bad in (
        "0/../outside/run", "0/a/..", "../a", "/etc", "//etc", "0//a", "0/./a", "0/a/", "00/a",
        "1/a", "-1/a", "0/link-out", "0\\a", "0/a\x00", "", "x/a", str(results / "a"),
    ):  # fmt: skip
        assert index.resolve(bad) is None, bad
    assert index.run_file("0/a", "summary.md") == results / "a" / "summary.md"
    for bad in ("../b/summary.md", "/etc/passwd", "secret", ".", "", "a/../../b/summary.md"):
        assert index.run_file("0/a", bad) is None, bad
    assert index.run_file("0/c", "scores.json") is None


def _runs_for_queries(results: Path) -> None:
    """12 more runs: dates in 2029, three translator names, one other dataset, rates and a cost."""
    names = ["alpha", "beta", "gamma"]
    for i in range(12):
        changes: dict[str, Any] = {
            "created": f"2029-03-{i + 1:02d}T10:00:00+00:00",
            "translator__name": names[i % 3],
            "copy_rate": round(0.01 * i, 6),
        }
        if i % 4 == 0:  # a rerun of the same system (same identity): folded under the newest
            changes["created"] = f"2029-04-{i + 1:02d}T10:00:00+00:00"
        if i == 5:
            changes["dataset__name"] = "other-set"
        if i == 7:
            changes["price_note"] = "kept"
        variant(results / ("a" if i % 2 else "b"), results / "q" / f"{i:02d}", **changes)
    usage = {"requests": 3, "retries": 0, "prompt_tokens": 10, "completion_tokens": 20, "cost_estimate": 0.25}
    variant(results / "a", results / "q" / "api", usage=usage, translator__name="api")


def test_filters_sort_and_paging(results: Path) -> None:
    _runs_for_queries(results)
    index = RunIndex([results])
    index.refresh()
    everything = index.query(RunQuery(limit=1000)).rows
    assert len(everything) == 15
    facets = index.query().facets
    assert facets.dataset == {"other-set": 1, "sample": 14}
    assert facets.translator["alpha"] == 4 and "chrF2" in facets.metric
    assert index.query(RunQuery(dataset="other-set")).total == 1
    assert index.query(RunQuery(translator=["alpha", "beta"])).total == 8
    assert index.query(RunQuery(metric="TER")).total == 15 and index.query(RunQuery(metric="nope")).total == 0
    march = index.query(RunQuery(date_from="2029-03-01", date_to="2029-03-31", limit=100)).rows
    assert {r["created"][:7] for r in march} == {"2029-03"} and len(march) == 9
    assert index.query(RunQuery(date_to="2029-03-02")).total == 4  # a, b, api (today) and 2029-03-02
    assert [r["run_id"] for r in index.query(RunQuery(text="API  ")).rows] == ["0/q/api"]
    assert index.query(RunQuery(text="q/0 gamma")).total == 3  # q/02, q/05, q/08 (not q/11)
    assert index.query(RunQuery(text="100%_")).total == 0  # LIKE's wildcards are literal
    api = index.get("0/q/api")
    assert api is not None and api["cost"] == 0.25 and api["usage"]["requests"] == 3
    assert index.query(RunQuery(sort="cost", descending=True)).rows[0]["run_id"] == "0/q/api"

    # sort by a score: best first by its direction (TER lowest first), pages join up to the whole
    for sort, direction, name in (("score:chrF2", "forward", "chrF2"), ("score:TER", "forward", "TER"),
                                  ("rt:BLEU", "round_trip", "BLEU")):  # fmt: skip
        page = index.query(RunQuery(sort=sort, limit=4))
        hib = page.rows[0]["scores"][direction][name]["higher_is_better"]
        assert page.descending == hib
        values = [r["scores"][direction][name]["score"] for r in everything]
        expected = sorted(values, reverse=hib)
        got = []
        for offset in range(0, 15, 4):
            got += [
                r["scores"][direction][name]["score"]
                for r in index.query(RunQuery(sort=sort, limit=4, offset=offset)).rows
            ]
        assert got == expected
        flipped = index.query(RunQuery(sort=sort, descending=not hib, limit=1000)).rows
        assert [r["scores"][direction][name]["score"] for r in flipped] == sorted(values, reverse=not hib)
    created = [r["created"] for r in index.query(RunQuery(limit=1000)).rows]
    assert created == sorted(created, reverse=True)
    with pytest.raises(MtharnessError, match="sort 'bogus'"):
        index.query(RunQuery(sort="bogus"))
    assert index.query(RunQuery(run_ids=["0/a", "0/q/03"])).total == 2


def _leaderboard(results: Path, out: Path, *flags: str) -> dict[str, Any]:
    out.mkdir(exist_ok=True)
    args = ["leaderboard", str(results), "--out", str(out), "--json", str(out / "board.json"), *flags]
    assert cli_main(args) == 0
    return json.loads((out / "board.json").read_text(encoding="utf-8"))


def test_fold_and_numbers_equal_the_leaderboards(results: Path, tmp_path: Path) -> None:
    _runs_for_queries(results)
    board = _leaderboard(results, results, "--ci-n", "100")  # writes leaderboard.ci.json beside it
    index = RunIndex([results])
    index.refresh()
    folded = index.query(RunQuery(fold=True, limit=1000))
    shown = {r["run_dir"]: r for g in board["groups"] for r in g["runs"]}
    assert {r["path"] for r in folded.rows} == set(shown)
    hidden = sum(g["hidden_runs"] for g in board["groups"])
    assert sum(r["older"] for r in folded.rows) == hidden > 0
    for row in folded.rows:
        expect = shown[row["path"]]
        assert row["identity"] == expect["identity"]
        for direction, per in expect["scores"].items():
            for name, value in per.items():
                assert row["scores"][direction][name]["score"] == value  # the exact stored number
        for direction, per in expect["ci"].items():
            for name, ci in per.items():
                assert row["scores"][direction][name]["ci"] == ci
        assert row["copy_rate"] == expect["copy_rate"] and row["off_target_rate"] == expect["off_target_rate"]
    # a CI sort puts runs with a CI first, narrowest first
    widths = [
        r["scores"]["forward"]["chrF2"]["ci"]["half_width"]
        for r in index.query(RunQuery(sort="ci:chrF2", fold=True, limit=1000)).rows
        if r["scores"]["forward"]["chrF2"]["ci"]
    ]
    assert len(widths) == len(folded.rows) and widths == sorted(widths)
    # folding applies after the filters; unfolded, every run is listed with older = 0
    all_rows = index.query(RunQuery(limit=1000)).rows
    assert len(all_rows) == 15 and {r["older"] for r in all_rows} == {0}
