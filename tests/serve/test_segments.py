"""Segments of a run paged from disk: search, score range, the difference to a second run, sorts and
paging checked against segments.jsonl read whole; re-indexed when the file changes; refused where
the runs are not comparable; a 100,000-segment file paged with bounded memory; the word diff."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from mtharness.core import MtharnessError
from mtharness.serve.index import RunIndex
from mtharness.serve.segments import SegmentQuery, SegmentStore, word_diff
from tests.serve.test_index import files_run, two_systems, variant


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("serve-segments")
    a, _ = two_systems(work, work / "results")
    hyp = (a / "hyp.es.txt").read_text(encoding="utf-8").splitlines()
    back = (a / "rt.en.txt").read_text(encoding="utf-8").splitlines()
    files_run(work, work / "results" / "short", hyp, back, "limit=20")  # another test set
    return work / "results"


@pytest.fixture(scope="module")
def store(results: Path, tmp_path_factory: pytest.TempPathFactory) -> SegmentStore:
    index = RunIndex([results], tmp_path_factory.mktemp("db") / "index.sqlite")
    index.refresh()
    return SegmentStore(index)


def _rows(run: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (run / "segments.jsonl").read_text(encoding="utf-8").splitlines()]


def _all(store: SegmentStore, run_id: str, q: SegmentQuery, limit: int = 7) -> list[Any]:
    """Every row of a query, page after page (the pages must join up to the whole answer)."""
    out, offset = [], 0
    while True:
        page = store.page(run_id, SegmentQuery(**{**q.__dict__, "offset": offset, "limit": limit}))
        out += page.rows
        offset += limit
        if offset >= page.total:
            assert len(out) == page.total
            return out


def test_rows_come_back_as_stored_and_pages_join_up(store: SegmentStore, results: Path) -> None:
    stored = _rows(results / "a")
    page = store.page("0/a", SegmentQuery(limit=5, offset=10))
    assert page.total == page.n_segments == len(stored) == 150
    assert [r.segment for r in page.rows] == stored[10:15]
    assert [r.index for r in page.rows] == list(range(10, 15))
    assert page.metrics == ["BLEU", "chrF2"] and page.higher_is_better is None
    assert [r.segment for r in _all(store, "0/a", SegmentQuery())] == stored
    assert store.segment("0/a", 149) == stored[149]
    assert store.page("0/a", SegmentQuery(offset=150)).rows == []


def test_text_search_is_a_case_insensitive_substring(store: SegmentStore, results: Path) -> None:
    stored = _rows(results / "a")
    for text in ("RAIN", "el", "Train leaves", "lluvia", "40%"):
        words = text.casefold().split()
        expected = [
            i
            for i, r in enumerate(stored)
            if all(
                any(w in t.casefold() for t in [r["source"], *r["references"], r["forward"], r["round_trip"]])
                for w in words
            )
        ]
        got = [r.index for r in _all(store, "0/a", SegmentQuery(text=text))]
        assert got == expected and expected, text
    assert store.page("0/a", SegmentQuery(text="0%s")).total == 0  # LIKE's wildcards taken literally
    assert store.page("0/a", SegmentQuery(text="4_%")).total == 0


def test_score_range_and_sort(store: SegmentStore, results: Path) -> None:
    stored = _rows(results / "a")
    for direction in ("forward", "round_trip"):
        scores = [r["scores"][direction]["chrF2"] for r in stored]
        q = SegmentQuery(direction=direction, metric="chrF2", score_min=40, score_max=70, sort="score")
        got = _all(store, "0/a", q)
        expected = sorted((s, i) for i, s in enumerate(scores) if 40 <= s <= 70)
        assert [(r.score, r.index) for r in got] == expected and expected
        worst_first = store.page(
            "0/a", SegmentQuery(direction=direction, metric="chrF2", sort="score", limit=3)
        )
        assert worst_first.higher_is_better is True
        assert [r.score for r in worst_first.rows] == sorted(scores)[:3]
        best = store.page(
            "0/a", SegmentQuery(direction=direction, metric="chrF2", sort="score", descending=True)
        )
        assert best.rows[0].score == max(scores)


def test_difference_to_a_second_run(store: SegmentStore, results: Path) -> None:
    mine, theirs = _rows(results / "a"), _rows(results / "b")
    diffs = [
        m["scores"]["forward"]["BLEU"] - t["scores"]["forward"]["BLEU"]
        for m, t in zip(mine, theirs, strict=True)
    ]
    q = SegmentQuery(metric="BLEU", compare="0/b", sort="diff", diff_max=-5)
    got = _all(store, "0/a", q)
    expected = sorted((d, i) for i, d in enumerate(diffs) if d <= -5)
    assert [(r.diff, r.index) for r in got] == expected and expected  # where a loses to b most, first
    for row in got:
        assert row.segment == mine[row.index] and row.other == theirs[row.index]
        assert row.score == mine[row.index]["scores"]["forward"]["BLEU"]
        assert row.other_score == theirs[row.index]["scores"]["forward"]["BLEU"]
    largest = store.page(
        "0/a", SegmentQuery(metric="BLEU", compare="0/b", sort="absdiff", descending=True, limit=1)
    )
    assert abs(largest.rows[0].diff or 0) == max(abs(d) for d in diffs)
    with pytest.raises(MtharnessError, match="not on the same test set"):
        store.page("0/a", SegmentQuery(metric="BLEU", compare="0/short"))
    with pytest.raises(MtharnessError, match="needs a run to compare"):
        store.page("0/a", SegmentQuery(metric="BLEU", sort="diff"))
    with pytest.raises(MtharnessError, match="no forward segment scores for 'COMET'"):
        store.page("0/a", SegmentQuery(metric="COMET"))
    with pytest.raises(MtharnessError, match="not a run under"):
        store.page("0/../a")


def test_a_changed_file_is_indexed_again_and_a_bad_line_named(results: Path, tmp_path: Path) -> None:
    root = tmp_path / "results"
    variant(results / "a", root / "a")
    store = SegmentStore(RunIndex([root]))
    store.index.refresh()
    assert store.page("0/a", SegmentQuery(text="zebra")).total == 0
    rows = _rows(root / "a")
    rows[3]["forward"] = "Una cebra: zebra"
    lines = [json.dumps(r, ensure_ascii=False) for r in rows]
    (root / "a" / "segments.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    found = store.page("0/a", SegmentQuery(text="ZEBRA")).rows
    assert [r.index for r in found] == [3] and found[0].segment["forward"] == "Una cebra: zebra"
    (root / "a" / "segments.jsonl").write_text(
        "\n".join([*lines[:5], "{oops", *lines[6:]]) + "\n", encoding="utf-8"
    )
    with pytest.raises(MtharnessError, match=r"segments.jsonl, line 6: not valid JSON"):
        store.page("0/a")
    (root / "a" / "segments.jsonl").unlink()
    with pytest.raises(MtharnessError, match=r"no segments\.jsonl"):
        store.page("0/a")


def test_word_diff() -> None:
    a, b = "The cat sat on the mat, quietly.", "The dog sat on a mat quietly!"
    pieces = word_diff(a, b)
    assert "".join(t for op, t in pieces if op != "insert") == a
    assert "".join(t for op, t in pieces if op != "delete") == b
    assert ("delete", "cat") in pieces and ("insert", "dog") in pieces and ("delete", ",") in pieces
    assert word_diff("same text", "same text") == [("equal", "same text")]
    assert word_diff("", "neu") == [("insert", "neu")]
    assert word_diff("Größe 5", "größe 5") == [("delete", "Größe"), ("insert", "größe"), ("equal", " 5")]


def _big_run(template: Path, folder: Path, n: int) -> Path:
    """A run folder with ``n`` synthetic segments (rows like the template's, texts varied)."""
    folder.mkdir(parents=True)
    doc = json.loads((template / "scores.json").read_text(encoding="utf-8"))
    doc["n_segments"] = n
    (folder / "scores.json").write_text(json.dumps(doc), encoding="utf-8")
    base = _rows(template)
    with (folder / "segments.jsonl").open("w", encoding="utf-8") as fh:
        for i in range(n):
            row = dict(base[i % len(base)])
            row["id"] = str(i + 1)
            row["source"] = f"{row['source']} #{i}"
            row["scores"] = {"forward": {"chrF2": float((i * 7919) % 1000) / 10}}
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    return folder


@pytest.mark.slow
def test_a_100000_segment_run_pages_with_bounded_memory(results: Path, tmp_path: Path) -> None:
    n = 100_000
    big = _big_run(results / "a", tmp_path / "results" / "big", n)
    size = (big / "segments.jsonl").stat().st_size
    store = SegmentStore(RunIndex([tmp_path / "results"]))
    store.index.refresh()
    tracemalloc.start()
    try:
        assert store.ensure("0/big") == n
        first_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        page = store.page("0/big", SegmentQuery(metric="chrF2", sort="score", descending=True, offset=50_000))
        found = store.page("0/big", SegmentQuery(text="#99999"))
        late = store.page("0/big", SegmentQuery(offset=n - 3))
        page_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert page.total == n and len(page.rows) == 50
    assert [r.index for r in found.rows] == [99_999] and found.rows[0].segment["id"] == "100000"
    assert [r.segment["id"] for r in late.rows] == ["99998", "99999", "100000"]
    # the file is tens of MB; indexing streams it and a page reads only its own lines
    assert size > 20_000_000
    assert first_peak < size / 10, (first_peak, size)
    assert page_peak < size / 50, (page_peak, size)
