"""`mtharness compare` with sacrebleu's own metric options equals sacrebleu with the same options:
pre-tokenized WMT23 files scored with `--tokenize none` (scores, signatures and paired p-values)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sacrebleu.metrics import BLEU, CHRF
from sacrebleu.significance import PairedTest
from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a

from mtharness.cli import main as cli_main
from mtharness.core import DEFAULT_SEED

SYSTEMS = ["ONLINE-B", "GPT4-5shot", "NLLB_Greedy"]  # baseline first
N = 200  # segments: enough for stable tests, quick on two cores


@pytest.fixture(scope="module")
def tokenized(wmt23: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The first N segments of the reference and three systems, tokenized as a toolkit would ship them."""
    folder, out = wmt23 / "en-de", tmp_path_factory.mktemp("tok")
    tok = Tokenizer13a()
    files = {"ref": folder / "ref.A.de", **{s: folder / "systems" / f"{s}.de" for s in SYSTEMS}}
    paths = {}
    for name, path in files.items():
        lines = path.read_text(encoding="utf-8").split("\n")[:N]
        paths[name] = out / ("ref.de" if name == "ref" else f"{name}.de")
        paths[name].write_text("".join(tok(line) + "\n" for line in lines), encoding="utf-8")
    return paths


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def _ours(tokenized: dict[str, Path], tmp_path: Path, method: str, *flags: str) -> dict:  # type: ignore[type-arg]
    out = tmp_path / f"{method}.json"
    argv = ["compare", "--refs", str(tokenized["ref"]), "--systems", *(str(tokenized[s]) for s in SYSTEMS)]
    argv += ["--tgt-lang", "de", "--metrics", "bleu", "chrf", "--paired", method, "--paired-n", "1000"]
    assert cli_main([*argv, *flags, "--json", str(out), "--quiet"]) == 0
    return json.loads(out.read_text())["directions"]["forward"]["metrics"]


@pytest.mark.shared_data
@pytest.mark.parametrize("method", ["bs", "ar"])
def test_tokenize_none_equals_sacrebleu(
    tokenized: dict[str, Path], tmp_path: Path, method: str, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    ours = _ours(tokenized, tmp_path, method, "--tokenize", "none")
    monkeypatch.setenv("SACREBLEU_SEED", str(DEFAULT_SEED))
    refs = [_lines(tokenized["ref"])]
    systems = [(s, _lines(tokenized[s])) for s in SYSTEMS]
    metrics = {"bleu": BLEU(tokenize="none"), "chrf": CHRF()}
    signatures, results = PairedTest(systems, metrics, refs, test_type=method, n_samples=1000)()
    for name in ("BLEU", "chrF2"):
        mine = ours[name]
        assert mine["signature"] == metrics["bleu" if name == "BLEU" else "chrf"].get_signature().format()
        assert mine["test_signature"] == signatures[name].format()
        for i, system in enumerate(SYSTEMS):
            want, got = results[name][i], mine["systems"][system]
            assert got["score"] == pytest.approx(want.score, abs=1e-4)
            if i:
                assert got["p_value"] == pytest.approx(want.p_value, abs=1e-4)
    assert "tok:none" in ours["BLEU"]["signature"]


@pytest.mark.shared_data
def test_options_change_the_metric_as_in_sacrebleu(tokenized: dict[str, Path], tmp_path: Path) -> None:
    """Without --tokenize, BLEU tokenizes again (13a); the long and short option names agree."""
    default = _ours(tokenized, tmp_path, "none")
    assert "tok:13a" in default["BLEU"]["signature"]
    flags = ["-tok", "none", "-lc", "--chrf-word-order", "2", "--chrf-beta", "1", "--chrf-lowercase"]
    short = _ours(tokenized, tmp_path, "none", *flags)
    refs = [_lines(tokenized["ref"])]
    hyps = _lines(tokenized[SYSTEMS[1]])
    bleu = BLEU(tokenize="none", lowercase=True)
    chrf = CHRF(word_order=2, beta=1, lowercase=True)
    for metric in (bleu, chrf):
        want = metric.corpus_score(hyps, refs)
        got = short[want.name]
        assert got["signature"] == metric.get_signature().format()
        assert got["systems"][SYSTEMS[1]]["score"] == pytest.approx(want.score, abs=1e-4)
    assert set(short) == {"BLEU", "chrF1++"}
