"""Round-trip validity: copy and off-target detection, semantic similarity."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mtharness.cli.run import run_from_config
from mtharness.core import MtharnessError
from mtharness.validity.checks import LangIdConfig, detect_languages, off_target_rate
from tests.conftest import compose


def _rows(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "segments.jsonl").read_text().splitlines()]


def test_echo_copies_and_is_off_target_despite_perfect_round_trip(tmp_path: Path) -> None:
    payload = run_from_config(
        compose(["translator=echo", "limit=30", "progress=false"]), tmp_path
    ).to_json()  # scores.json
    assert payload["scores"]["round_trip"]["chrF2"]["score"] == 100.0
    assert payload["copy_rate"] == 1.0
    assert payload["off_target_rate"] == 1.0
    assert payload["langid"]["target"] == "es"
    assert {r["forward_lang"] for r in _rows(tmp_path)} == {"en"}
    summary = (tmp_path / "summary.md").read_text()
    assert "off-target rate 1.000" in summary and "not in the target language" in summary


@pytest.mark.apertium
def test_apertium_round_trip_semantic_similarity_and_language_id(apertium: None, tmp_path: Path) -> None:
    cfg = compose(["validity=full", "limit=40", "progress=false"])
    payload = run_from_config(cfg, tmp_path).to_json()  # scores.json
    sem = payload["scores"]["round_trip"]["semantic_similarity"]
    assert 0.7 < sem["score"] < 1.0
    assert sem["higher_is_better"] is True
    assert "all-MiniLM-L6-v2" in sem["signature"] and "sentence-transformers:" in sem["signature"]
    rows = _rows(tmp_path)
    sims = [r["scores"]["round_trip"]["semantic_similarity"] for r in rows]
    assert sum(sims) / len(sims) == pytest.approx(sem["score"], abs=1e-4)
    assert max(sims) <= 1.0 + 1e-5 and min(sims) < 0.95
    # independent path: sentence-transformers' own cos_sim on unnormalised embeddings
    from sentence_transformers import SentenceTransformer, util

    from mtharness.validity.checks import PACKAGED_MODEL, resolve_model

    model = SentenceTransformer(resolve_model(PACKAGED_MODEL), device="cpu")
    emb = model.encode([rows[0]["source"], rows[0]["round_trip"]], convert_to_tensor=True)
    assert float(util.cos_sim(emb[0], emb[1])) == pytest.approx(sims[0], abs=1e-4)
    # language ID: the forward output is Spanish
    assert payload["langid"]["detected"].get("es", 0) >= 38
    assert payload["off_target_rate"] <= 0.05
    assert payload["copy_rate"] == 0.0


def test_langid_short_segments_are_undetermined_and_left_out() -> None:
    texts = [
        "",
        "OK",
        "12:30",
        "El gato duerme en la silla junto a la ventana.",
        "The cat sleeps by the window.",
    ]
    detected = detect_languages(texts, LangIdConfig())
    assert detected[:3] == ["und", "und", "und"]
    assert detected[3:] == ["es", "en"]
    assert off_target_rate(detected, "es") == 0.5
    assert off_target_rate(["und", "und"], "es") is None


def test_langid_language_restriction_and_bad_code() -> None:
    text = "O gato dorme na cadeira ao lado da janela todas as tardes."
    assert detect_languages([text], LangIdConfig(languages=("en", "es")))[0] in {"en", "es"}
    assert detect_languages([text], LangIdConfig())[0] == "pt"
    with pytest.raises(MtharnessError, match=r"validity\.langid\.languages"):
        detect_languages([text], LangIdConfig(languages=("xx-not-a-code",)))


def test_unknown_validity_key_is_one_clear_error(tmp_path: Path) -> None:
    cfg = compose(["translator=echo", "limit=3", "progress=false", "+validity.langid.min_chars=3"])
    with pytest.raises(MtharnessError, match="unknown key"):
        run_from_config(cfg, tmp_path)


def test_langid_off_keeps_scores_json_without_off_target(tmp_path: Path) -> None:
    cfg = compose(["translator=echo", "limit=3", "progress=false", "validity.langid.enabled=false"])
    payload = run_from_config(cfg, tmp_path).to_json()  # scores.json
    assert "off_target_rate" not in payload and payload["copy_rate"] == 1.0


def test_the_old_validity_comet_switch_points_at_the_metric(tmp_path: Path) -> None:
    cfg = compose(["translator=echo", "limit=3", "progress=false", "+validity.comet.enabled=true"])
    with pytest.raises(MtharnessError, match=r"metrics=\[bleu,comet\]") as err:
        run_from_config(cfg, tmp_path)
    assert "\n" not in str(err.value)
    assert not (tmp_path / "scores.json").exists()


@pytest.mark.parametrize("option", ["default", "full"])
def test_validity_options_compose(option: str) -> None:
    cfg = compose([f"validity={option}"])
    assert cfg.validity.langid.enabled is True
    assert cfg.validity.semantic.enabled is (option == "full")
    assert cfg.validity.document.enabled is False and "comet" not in cfg.validity
