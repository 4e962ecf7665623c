"""files translator: golden equality with sacrebleu on WMT23 system files, limits, duplicates."""

from __future__ import annotations

from pathlib import Path

import pytest
from sacrebleu.metrics import BLEU, CHRF

from mtharness.cli.run import run_from_config
from mtharness.core import MtharnessError
from mtharness.textio import read_lines
from mtharness.translators.files import FilesTranslator
from tests.conftest import compose


def _run(tmp_path: Path, *overrides: str) -> dict:  # type: ignore[type-arg]
    """The run's scores.json document."""
    cfg = compose(["translator=files", "progress=false", f"results_dir={tmp_path}", *overrides])
    return run_from_config(cfg, tmp_path / "run").to_json()  # type: ignore[union-attr]


@pytest.mark.shared_data
@pytest.mark.parametrize("system", ["ONLINE-W", "AIRC"])  # AIRC.de starts with a BOM
def test_whole_wmt23_file_equals_sacrebleu(wmt23: Path, tmp_path: Path, system: str) -> None:
    folder = wmt23 / "en-de"
    hyp_file = folder / "systems" / f"{system}.de"
    payload = _run(
        tmp_path,
        "dataset=wmt",
        f"dataset.path={folder}",
        f"translator.forward={hyp_file}",
        f"translator.source={folder / 'src.en'}",
        "metrics=[bleu,chrf]",
        "round_trip=false",
        "chunk_size=100",
    )
    hyp, ref = read_lines(hyp_file), read_lines(folder / "ref.A.de")
    assert read_lines(tmp_path / "run" / "hyp.de.txt") == hyp  # reproduced line for line
    for name, metric in (("BLEU", BLEU()), ("chrF2", CHRF())):
        ours = payload["scores"]["forward"][name]
        assert ours["score"] == pytest.approx(metric.corpus_score(hyp, [ref]).score, abs=1e-4)
        assert ours["signature"] == metric.get_signature().format()
    assert payload["directions"]["forward"]["cache"] is None  # never cached


@pytest.mark.shared_data
def test_limit_takes_the_prefix_and_back_file_gives_round_trip(wmt23: Path, tmp_path: Path) -> None:
    folder = wmt23 / "en-de"
    fwd = read_lines(folder / "systems" / "NLLB_Greedy.de")
    back = tmp_path / "back.en"  # the source itself as the "back translation": a perfect round trip
    back.write_text((folder / "src.en").read_text())
    payload = _run(
        tmp_path,
        "dataset=wmt",
        f"dataset.path={folder}",
        f"translator.forward={folder / 'systems' / 'NLLB_Greedy.de'}",
        f"translator.back={back}",
        "metrics=[bleu]",
        "limit=30",
        "chunk_size=7",
    )
    assert read_lines(tmp_path / "run" / "hyp.de.txt") == fwd[:30]
    assert payload["scores"]["round_trip"]["BLEU"]["score"] == pytest.approx(100.0)


def test_duplicate_sources_keep_their_own_lines(tmp_path: Path) -> None:
    src = ["Good morning.", "Thank you.", "Good morning.", "Bye."]
    fwd = ["Buenos días.", "Gracias.", "Buen día.", "Adiós."]  # the system varied on the repeat
    (tmp_path / "src.en").write_text("\n".join(src) + "\n")
    (tmp_path / "hyp.es").write_text("\n".join(fwd) + "\n")
    translator = FilesTranslator(forward=str(tmp_path / "hyp.es"), source=str(tmp_path / "src.en"))
    assert translator.translate(src[:2], "en", "es") + translator.translate(src[2:], "en", "es") == fwd
    assert translator.translate(src[:3], "en", "es") == fwd[:3]  # a new pass from the top
    with pytest.raises(MtharnessError, match=r"translator\.source"):
        translator.translate(["Not in the file."], "en", "es")
    with pytest.raises(MtharnessError, match=r"translator\.back is not set"):
        translator.translate(fwd, "es", "en")


def test_line_count_mismatch_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "src.en").write_text("a\nb\nc\n")
    (tmp_path / "hyp.de").write_text("x\ny\n")
    translator = FilesTranslator(forward=str(tmp_path / "hyp.de"), source=str(tmp_path / "src.en"))
    with pytest.raises(MtharnessError, match="line counts differ"):
        translator.translate(["a"], "en", "de")
    positional = FilesTranslator(forward=str(tmp_path / "hyp.de"))
    with pytest.raises(MtharnessError, match="longer than the system"):
        positional.translate(["a", "b", "c"], "en", "de")
    with pytest.raises(MtharnessError, match=r"translator\.forward is not set"):
        FilesTranslator().translate(["a"], "en", "de")
