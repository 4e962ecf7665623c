"""Bad input gives one clear line, a non-zero exit and no partial result; runs are deterministic."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sacrebleu.metrics import BLEU, CHRF, TER

from mtharness.core import LanguagePair, MtharnessError
from mtharness.data.loaders import load_files
from mtharness.run.writer import VOLATILE_KEYS
from mtharness.scoring.metrics import MetricSpec, corpus_score, segment_scores
from mtharness.translators.apertium import ApertiumTranslator
from tests.conftest import run_cli

BASE = [
    "run",
    "dataset=files",
    "dataset.src_lang=en",
    "dataset.tgt_lang=es",
    "translator=echo",
    "progress=false",
]


def _files(tmp: Path) -> dict[str, Path]:
    (tmp / "ok.en").write_text("one\ntwo\nthree\n", encoding="utf-8")
    (tmp / "short.es").write_text("uno\ndos\n", encoding="utf-8")
    (tmp / "empty.en").write_text("", encoding="utf-8")
    (tmp / "adir").mkdir()
    (tmp / "latin1.en").write_bytes("fine\nalso fine\nna\xefve caf\xe9\n".encode("latin-1"))
    return {p.name: p for p in tmp.iterdir()}


CASES = [
    (["dataset.src=ok.en", "dataset.refs=[short.es]"], r"ok.en has 3 lines but short.es has 2"),
    (["dataset.src=empty.en"], r"empty.en: file is empty"),
    (["dataset.src=adir"], r"adir: is a directory"),
    (["dataset.src=nothere.en"], r"nothere.en: no such file"),
    (["dataset.src=latin1.en"], r"latin1.en, line 3: invalid UTF-8"),
    (["dataset.src=ok.en", "dataset.tgt_lang=../../x"], r"language code '../../x' is not valid"),
]


@pytest.mark.parametrize("overrides,message", CASES)
def test_bad_input_is_one_clear_line(tmp_path: Path, overrides: list[str], message: str) -> None:
    _files(tmp_path)
    run_dir = tmp_path / "run"
    proc = run_cli([*BASE, *overrides, f"hydra.run.dir={run_dir}"], cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    error_lines = [line for line in proc.stderr.splitlines() if "error:" in line]
    assert len(error_lines) == 1, proc.stderr
    assert __import__("re").search(message, error_lines[0]), error_lines[0]
    assert "Traceback" not in proc.stderr
    assert not (run_dir / "scores.json").exists()


def test_apertium_missing_pair_names_the_apt_package(apertium: None, tmp_path: Path) -> None:
    _files(tmp_path)
    proc = run_cli(
        [
            *BASE[:-2],
            "translator=apertium",
            "dataset.src=ok.en",
            "dataset.tgt_lang=de",
            f"hydra.run.dir={tmp_path / 'r'}",
        ],
        cwd=tmp_path,
    )
    assert proc.returncode == 2
    assert "apt-get install apertium-eng-deu" in proc.stderr


def test_duplicate_yaml_key_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "cfg" / "translator").mkdir(parents=True)
    (tmp_path / "cfg" / "translator" / "dup.yaml").write_text(
        "_target_: mtharness.translators.echo.EchoTranslator\nname: a\nname: b\n"
    )
    proc = run_cli(["run", "--config-dir", str(tmp_path / "cfg"), "translator=dup"], cwd=tmp_path)
    assert proc.returncode == 2
    assert "dup.yaml, line 3: duplicate key 'name'" in proc.stderr and "Traceback" not in proc.stderr


def test_bom_and_crlf_are_normalised_not_errors(tmp_path: Path) -> None:
    (tmp_path / "src.en").write_bytes(b"\xef\xbb\xbfHello there\r\nGood night\r\n")
    proc = run_cli([*BASE, "dataset.src=src.en", f"hydra.run.dir={tmp_path / 'r'}"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(x) for x in (tmp_path / "r" / "segments.jsonl").read_text().splitlines()]
    assert [r["source"] for r in rows] == ["Hello there", "Good night"]


def test_empty_segments_are_kept_and_scored_like_sacrebleu(tmp_path: Path) -> None:
    (tmp_path / "src.en").write_text("The cat sat.\n\nA dog ran.\n")
    (tmp_path / "ref.es").write_text("El gato.\n\nUn perro.\n")
    run_dir = tmp_path / "r"
    proc = run_cli(
        [*BASE, "dataset.src=src.en", "dataset.refs=[ref.es]", f"hydra.run.dir={run_dir}"], cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    payload = json.loads((run_dir / "scores.json").read_text())
    assert payload["n_segments"] == 3
    hyps = ["The cat sat.", "", "A dog ran."]
    refs = [["El gato.", "", "Un perro."]]
    assert payload["scores"]["forward"]["chrF2"]["score"] == pytest.approx(
        round(CHRF().corpus_score(hyps, refs).score, 4)
    )
    assert (run_dir / "hyp.es.txt").read_text() == "The cat sat.\n\nA dog ran.\n"


def _stable(payload: dict) -> dict:
    return {k: v for k, v in payload.items() if k not in VOLATILE_KEYS}


def test_same_config_twice_gives_identical_scores(apertium: None, tmp_path: Path) -> None:
    payloads = []
    for name in ("a", "b"):
        proc = run_cli(
            ["run", "limit=40", "progress=false", f"hydra.run.dir={tmp_path / name}"], cwd=tmp_path
        )
        assert proc.returncode == 0, proc.stderr
        payloads.append(json.loads((tmp_path / name / "scores.json").read_text()))
    assert _stable(payloads[0]) == _stable(payloads[1])
    assert (tmp_path / "a" / "segments.jsonl").read_bytes() == (
        tmp_path / "b" / "segments.jsonl"
    ).read_bytes()


def test_two_runs_at_once_in_one_results_folder(apertium: None, tmp_path: Path) -> None:
    cmd = [
        sys.executable,
        "-m",
        "mtharness",
        "run",
        "limit=60",
        "progress=false",
        f"results_dir={tmp_path / 'res'}",
    ]
    procs = [
        subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)
    ]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err.decode()
    found = sorted((tmp_path / "res").rglob("scores.json"))
    assert len(found) == 2
    assert len({json.loads(f.read_text())["scores"]["round_trip"]["chrF2"]["score"] for f in found}) == 1


def test_language_codes_cannot_escape_the_run_dir() -> None:
    for bad in ("../es", "es/x", "", "e s", "es\x00"):
        with pytest.raises(MtharnessError):
            LanguagePair("en", bad)
    assert str(LanguagePair("eng_Latn", "zh_Hant")) == "eng_Latn-zh_Hant"


# --- property-based: loaders and metric wrappers on random unicode, empty and whitespace-only lines ---

line_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r\x00\ufeff"), max_size=40
)
lines_strategy = st.lists(
    st.one_of(line_text, st.sampled_from(["", " ", "\t", "  \t "])), min_size=1, max_size=12
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=lines_strategy, crlf=st.booleans(), final_newline=st.booleans())
def test_files_loader_round_trips_any_lines(
    tmp_path: Path, lines: list[str], crlf: bool, final_newline: bool
) -> None:
    sep = "\r\n" if crlf else "\n"
    if not final_newline and lines[-1] == "":
        final_newline = True  # without a terminator a trailing empty line cannot be told apart
    body = sep.join(lines) + (sep if final_newline else "")
    path = tmp_path / "h.en"
    path.write_bytes(("\ufeff" + body).encode("utf-8"))  # a BOM is dropped, never part of line 1
    ds = load_files(str(path), "en", "de", [str(path)])
    assert ds.sources == lines
    assert ds.reference_streams == [lines]
    assert [s.id for s in ds.segments] == [str(i) for i in range(1, len(lines) + 1)]


pairs_strategy = st.lists(st.tuples(lines_strategy.map(" ".join), line_text), min_size=1, max_size=8)


@settings(max_examples=40, deadline=None)
@given(pairs=pairs_strategy)
def test_metric_wrappers_equal_sacrebleu_on_random_text(pairs: list[tuple[str, str]]) -> None:
    hyps = [h for h, _ in pairs]
    refs = [[r for _, r in pairs]]
    for kind, metric in (("bleu", BLEU()), ("chrf", CHRF()), ("chrfpp", CHRF(word_order=2)), ("ter", TER())):
        ours = corpus_score(MetricSpec(kind), hyps, refs, "de")
        assert ours.score == pytest.approx(metric.corpus_score(hyps, refs).score, abs=1e-9)
        assert ours.signature == metric.get_signature().format()
    seg = segment_scores(hyps, refs, "de")
    assert len(seg["chrF2"]) == len(seg["BLEU"]) == len(hyps)
    assert all(0.0 <= s <= 100.0 for s in seg["chrF2"] + seg["BLEU"])


@settings(max_examples=12, deadline=None)
@given(texts=st.lists(line_text, min_size=1, max_size=6))
def test_apertium_never_loses_a_line(texts: list[str]) -> None:
    from tests.conftest import apertium_has

    if not apertium_has("eng-spa"):
        pytest.skip("Apertium eng-spa not installed")
    translator = ApertiumTranslator(timeout_s=60)  # a stalled chain fails an example, not the whole run
    out = translator.translate(["Start.", *texts, "End."], "en", "es")
    assert len(out) == len(texts) + 2 and out[-1].startswith("Fin")


def test_atomic_write_leaves_whole_files_only(tmp_path: Path) -> None:
    import os

    from mtharness.textio import atomic_write_json

    target = tmp_path / "scores.json"
    atomic_write_json(target, {"a": 1})
    assert json.loads(target.read_text()) == {"a": 1}
    assert oct(os.stat(target).st_mode & 0o077) != oct(0)  # readable by the group like any result file
    with pytest.raises(TypeError):
        atomic_write_json(target, {"bad": object()})  # fails mid-serialisation
    assert json.loads(target.read_text()) == {"a": 1}  # the old complete file is untouched
    assert [p.name for p in tmp_path.iterdir()] == ["scores.json"]  # no temp file left behind
