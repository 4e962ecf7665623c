"""RTT vs forward correlation across systems; the files and gloss translators it runs on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mtharness.compare.rtt import format_report, rtt_correlation
from mtharness.core import MtharnessError
from mtharness.data.loaders import load_wmt, wmt_systems
from mtharness.run.evaluate import evaluate
from mtharness.run.writer import write_run
from mtharness.scoring.metrics import parse_specs
from mtharness.translators.echo import EchoTranslator
from mtharness.translators.files import FilesTranslator
from mtharness.translators.gloss import DEFAULT_DICTIONARIES, GlossTranslator, load_ding
from tests.conftest import REPO, run_cli

DE_EN = Path(DEFAULT_DICTIONARIES[("de", "en")])


@pytest.fixture(scope="session")
def de_en_dictionary() -> Path:
    if not DE_EN.is_file():
        pytest.skip(f"{DE_EN} absent: apt-get install trans-de-en (make test does)")
    return DE_EN


def test_gloss_reads_a_ding_file(tmp_path: Path) -> None:
    ding = tmp_path / "mini.ding"
    ding.write_text(
        "# our own three entries\n"
        "Katze {f} | Katzen {pl} :: cat | cats\n"
        "schlafen {vi} | schläft :: to sleep | sleeps\n"
        "Fenster {n} [arch.] :: window\n",
        encoding="utf-8",
    )
    table = load_ding(str(ding))
    assert table == {
        "Katze": "cat",
        "Katzen": "cats",
        "schlafen": "sleep",
        "schläft": "sleeps",
        "Fenster": "window",
    }
    out = GlossTranslator(dictionary=str(ding)).translate(["Die Katze schläft am Fenster, Bob."], "de", "en")
    assert out == ["the cat sleeps at the window, Bob."]


def test_files_translator_hands_the_way_back_to_its_fallback(tmp_path: Path) -> None:
    (tmp_path / "src.en").write_text("one\ntwo\n")
    (tmp_path / "out.de").write_text("eins\nzwei\n")
    fwd = {"forward": str(tmp_path / "out.de"), "source": str(tmp_path / "src.en")}
    tr = FilesTranslator("t", **fwd, fallback=EchoTranslator())
    assert tr.translate(["one", "two"], "en", "de") == ["eins", "zwei"]
    assert tr.translate(["eins", "zwei"], "de", "en") == ["eins", "zwei"]  # echo took the way back
    assert tr.identity()["fallback"]["backend"] == "echo"
    with pytest.raises(MtharnessError, match="is not in the file"):
        FilesTranslator("t", **fwd).translate(["three"], "en", "de")
    with pytest.raises(MtharnessError, match=r"translator.back is not set"):
        no_back = FilesTranslator("t", **fwd)
        no_back.translate(["one", "two"], "en", "de")
        no_back.translate(["eins"], "de", "en")


@pytest.mark.slow
@pytest.mark.shared_data
def test_rtt_vs_forward_on_wmt23_systems(wmt23: Path, de_en_dictionary: Path, tmp_path: Path) -> None:
    from scipy import stats  # when the test runs: collection stays light

    folder = wmt23 / "en-de"
    ds = load_wmt(str(folder)).subset(40)
    specs = parse_specs(["chrf"])
    back = GlossTranslator()
    for name, path in wmt_systems(folder).items():
        tr = FilesTranslator(name, forward=str(path), source=str(folder / "src.en"), fallback=back)
        write_run(evaluate(ds, tr, specs, progress=False, validity={}), tmp_path / "wmt" / name)
    report = rtt_correlation([tmp_path / "wmt"])
    assert report["n_systems"] == 8 and report["dataset"] == "wmt23-en-de"
    # independent recomputation from the scores.json files
    runs = [json.loads(p.read_text()) for p in sorted((tmp_path / "wmt").rglob("scores.json"))]
    fwd = [r["scores"]["forward"]["chrF2"]["score"] for r in runs]
    rt = [r["scores"]["round_trip"]["chrF2"]["score"] for r in runs]
    corr = report["correlations"]["chrF2"]
    assert corr["pearson"] == pytest.approx(stats.pearsonr(rt, fwd).statistic, abs=1e-4)
    assert corr["kendall"] == pytest.approx(stats.kendalltau(rt, fwd).statistic, abs=1e-4)
    assert corr["pearson"] > 0  # with a fixed back-translator, the round trip tracks forward quality
    # a copying system gets a perfect round trip and breaks the correlation (Zhuo et al. 2023)
    write_run(evaluate(ds, EchoTranslator(), specs, progress=False, validity={}), tmp_path / "echo")
    with_copy = rtt_correlation([tmp_path / "wmt", tmp_path / "echo"])
    echo = next(s for s in with_copy["systems"] if s["system"] == "echo")
    assert (
        echo["round_trip"]["chrF2"] == 100.0 and echo["copy_rate"] == 1.0 and echo["off_target_rate"] == 1.0
    )
    assert with_copy["correlations"]["chrF2"]["pearson"] < 0
    assert any("copies its input" in w for w in echo["warnings"])  # flagged beside its round trip
    assert "warning: echo: copy rate 1.000" in format_report(with_copy)
    proc = run_cli(["rtt-correlation", str(tmp_path / "wmt"), "--output", str(tmp_path / "r.json")], cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    assert "pearson" in proc.stdout and "ONLINE-W" in proc.stdout
    assert json.loads((tmp_path / "r.json").read_text())["correlations"] == report["correlations"]


def test_rtt_needs_three_runs_on_one_dataset(tmp_path: Path) -> None:
    from mtharness.data.loaders import load_sample

    ds = load_sample()
    for i in range(2):
        write_run(
            evaluate(ds.subset(5 + i), EchoTranslator(), parse_specs(["chrf"]), progress=False),
            tmp_path / f"r{i}",
        )
    with pytest.raises(MtharnessError, match="at least 3"):
        rtt_correlation([tmp_path])
    write_run(
        evaluate(ds.subset(9), EchoTranslator(), parse_specs(["chrf"]), progress=False), tmp_path / "r2"
    )
    with pytest.raises(MtharnessError, match="different data"):
        rtt_correlation([tmp_path])
    proc = run_cli(["rtt-correlation", str(tmp_path / "nope")], cwd=REPO)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
