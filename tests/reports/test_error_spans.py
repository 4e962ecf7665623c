"""Error spans in the views: the highlighter (overlaps, offsets at the text's ends, unicode, escaping),
the MQM-style table and the differing segments, and compare/report on run folders holding spans."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mtharness.cli import main as cli_main
from mtharness.compare.error_spans import ErrorMark, differences, error_span_summary, mark
from mtharness.data.loaders import load_sample
from mtharness.reports.highlight import highlight
from tests.helpers.spans import sample_span_runs, write_span_run


def m(text: str, start: int | None, end: int | None, severity: str = "minor", **kw: object) -> ErrorMark:
    got = mark({"text": text, "start": start, "end": end, "severity": severity, **kw}, "xCOMET")
    assert got is not None
    return got


def pieces(text: str, spans: list[ErrorMark]) -> list[tuple[str, str, bool]]:
    return [(p["text"], p["severity"], p["overlap"]) for p in highlight(text, spans)["pieces"]]


def test_spans_at_both_ends_cover_the_text_without_gaps() -> None:
    text = "Hola mundo"
    got = pieces(text, [m("Hola", 0, 4, "major"), m("mundo", 5, 10, "critical")])
    assert got == [("Hola", "major", False), (" ", "", False), ("mundo", "critical", False)]
    assert "".join(p for p, _, _ in got) == text


def test_overlapping_spans_take_the_worst_colour_and_list_every_span() -> None:
    text = "el gato negro duerme"
    outer = m("gato negro", 3, 13, "minor", confidence=0.4)
    inner = m("negro", 8, 13, "critical", category="accuracy/mistranslation", confidence=0.9)
    partial = m("negro duerme", 8, 20, "major")
    result = highlight(text, [outer, inner, partial])
    got = [(p["text"], p["severity"], p["overlap"]) for p in result["pieces"]]
    assert got == [
        ("el ", "", False),
        ("gato ", "minor", False),
        ("negro", "critical", True),
        (" duerme", "major", False),
    ]
    title = result["pieces"][2]["title"]
    for words in ("minor error", "critical error", "major error", "accuracy/mistranslation", "confidence 0.90",
                  "uncategorised", "metric xCOMET"):  # fmt: skip
        assert words in title, words


def test_unicode_offsets_are_code_points() -> None:
    text = "Ça coûte 5 € 🙂 très cher"
    start = text.index("🙂")
    got = pieces(
        text, [m("🙂", start, start + 1, "minor"), m("très", text.index("très"), text.index("très") + 4)]
    )
    assert ("🙂", "minor", False) in got and ("très", "minor", False) in got
    assert "".join(p for p, _, _ in got) == text


def test_a_span_with_bad_offsets_is_found_by_its_text_or_listed_apart() -> None:
    text = "Der Zug kam spät an."
    moved = m("spät", 40, 44, "major")  # offsets past the end: found by its text
    wrong = m("Zug", 12, 16, "minor")  # offsets point at another word: found by its text
    cased = m("der zug", None, None, "minor")  # a judge's span in other case, no offsets
    absent = m("Flugzeug", None, None, "critical")  # not in the translation at all
    result = highlight(text, [moved, wrong, cased, absent])
    marked = {p["text"]: p["severity"] for p in result["pieces"] if p["severity"]}
    assert marked == {"Der ": "minor", "Zug": "minor", "spät": "major"}
    assert [(u["text"], u["severity"]) for u in result["unplaced"]] == [("Flugzeug", "critical")]


def test_unknown_severity_is_other_and_weighs_nothing() -> None:
    odd = m("x", 0, 1, "Neutral")
    assert odd.severity == "neutral" and odd.weight == 0.0
    assert pieces("x", [odd]) == [("x", "other", False)]
    assert m("x", 0, 1, "minor", category="Non-translation").weight == 25.0


def _table() -> dict[str, list[object]]:
    a = [[{"severity": "minor", "text": "a"}], [], [{"severity": "major"}, {"severity": "minor"}], None]
    b = [
        [],
        [{"severity": "critical", "category": "accuracy/mistranslation"}],
        [{"severity": "major"}, {"severity": "minor"}],
        [{"severity": "major"}],
    ]
    return {"A": a, "B": b}


def test_mqm_table_counts_per_100_annotated_segments() -> None:
    summary = error_span_summary({"judge": _table()}, ["A", "B"], "A", top=10)["judge"]
    a, b = summary["systems"]["A"], summary["systems"]["B"]
    assert a["segments"] == 3 and b["segments"] == 4  # A's last segment was not annotated
    assert a["by_severity"] == {"minor": 2, "major": 1} and a["errors"] == 3
    assert a["per_100_segments"]["errors"] == pytest.approx(100.0)
    assert a["weighted_errors"] == 7.0 and a["mqm_score"] == pytest.approx(-7 / 3, abs=1e-4)
    assert b["by_category"] == {
        "accuracy/mistranslation": {"critical": 1},
        "uncategorised": {"major": 2, "minor": 1},
    }
    assert b["per_100_segments"]["by_severity"]["major"] == pytest.approx(50.0)
    assert b["mqm_score"] == pytest.approx(-(25 + 5 + 1 + 5) / 4)
    assert summary["severities"] == ["minor", "major", "critical"]


def test_differences_rank_by_weight_then_count_and_skip_equal_and_unannotated() -> None:
    rows = differences(_table(), "A", "B", "judge", top=10)
    assert [r["line"] for r in rows] == [2, 1]  # line 3 equal, line 4 unannotated for A
    assert rows[0]["weighted"] == {"A": 0.0, "B": 25.0} and rows[0]["errors"] == {"A": 0, "B": 1}
    assert differences(_table(), "A", "B", "judge", top=1) == rows[:1]


@pytest.fixture(scope="module")
def span_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return sample_span_runs(tmp_path_factory.mktemp("span_runs"))


def test_compare_prints_and_writes_the_mqm_table(
    span_runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "cmp"
    argv = ["compare", str(span_runs["A"]), str(span_runs["B"]), "--metrics", "chrf", "--ci-n", "50"]
    argv += ["--paired-n", "50", "--json", f"{out}.json", "--markdown", f"{out}.md", "--html", f"{out}.html"]
    assert cli_main(argv) == 0
    text = capsys.readouterr().out
    assert "Error spans, forward: xCOMET" in text and "accuracy/mistranslation" in text
    block = json.loads(Path(f"{out}.json").read_text())["directions"]["forward"]["error_spans"]["xCOMET"]
    b = block["systems"]["sysB"]
    assert b["by_severity"] == {"major": 6, "critical": 1} and b["segments"] == 12
    assert b["mqm_score"] == pytest.approx(-(6 * 5 + 25) / 12, abs=1e-4)
    assert block["differences"][0]["systems"] == ["sysA", "sysB"]
    assert block["differences"][0]["segments"][0]["line"] == 3  # the critical one
    md = Path(f"{out}.md").read_text()
    assert "### Error spans, forward: xCOMET" in md and "| sysB | all |" in md
    html = Path(f"{out}.html").read_text()
    assert '<mark class="err err-critical"' in html and "Where sysB and sysA differ most" in html
    assert "<script>window.__spanInjected" not in html  # escaped, never markup
    assert "&lt;script&gt;window.__spanInjected = true&lt;/script&gt;" in html


def test_no_spans_no_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ds = load_sample().subset(5)
    run = write_span_run(tmp_path / "plain", ds, list(ds.reference_streams[0]), None, "plain", {})
    assert cli_main(["compare", str(run), "--metrics", "chrf", "--json", str(tmp_path / "c.json")]) == 0
    assert "Error spans" not in capsys.readouterr().out
    assert "error_spans" not in json.loads((tmp_path / "c.json").read_text())["directions"]["forward"]


def test_report_marks_the_spans_of_one_run(span_runs: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    assert (
        cli_main(["report", str(span_runs["B"]), "--out", str(out), "--metrics", "chrf", "--ci-n", "50"]) == 0
    )
    html = out.read_text()
    assert html.count('class="err err-major"') >= 6 and "Error spans" in html
    assert "Which metric scored what." in html and "chrF2: forward against the references" in html
    assert 'title="major error · accuracy/mistranslation · confidence 0.70 · metric xCOMET' in html
    assert "<script>window.__spanInjected" not in html
