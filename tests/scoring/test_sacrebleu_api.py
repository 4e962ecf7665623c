"""Golden tests of the one adapter over sacrebleu's private API (mtharness.scoring.sacrebleu_api).

Each private call is checked against sacrebleu's PUBLIC corpus_score / sentence_score on fixed
inputs. When a sacrebleu release changes what a private method returns, these fail with a message
that names the call: fix the adapter (only that module), then widen VERIFIED_SACREBLEU and the pin.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from importlib import metadata
from typing import Any

import pytest
import tomllib
from sacrebleu.metrics import BLEU, CHRF, TER
from sacrebleu.metrics.base import Metric

from mtharness.scoring import sacrebleu_api as api
from tests.conftest import REPO

HYPS = [
    "The cat sat on the mat .",
    "A quick brown fox jumps over the lazy dog",
    "Zelensky met the prime minister in Kyiv on Tuesday.",
    "",
    "It rained, it poured; nobody came!",
]
REFS = [
    ["The cat sat on the mat.", "A fast brown fox jumped over a lazy dog", "Zelensky met the premier in Kyiv on Tuesday.",
     "Nothing.", "It rained and it poured, and nobody came!"],
    ["There was a cat on the mat.", "The quick brown fox jumps over the lazy dog.", "On Tuesday Zelensky met the prime minister.",
     "", "Nobody came: it rained."],
]  # fmt: skip
# metric -> number of statistics per segment (the layout the significance code sums and resamples)
METRICS: dict[str, tuple[Callable[[], Metric], int]] = {
    "BLEU": (BLEU, 2 + 2 * 4),
    "BLEU-lc-none": (lambda: BLEU(lowercase=True, tokenize="none"), 2 + 2 * 4),
    "chrF2": (CHRF, 3 * 6),
    "chrF2++": (lambda: CHRF(word_order=2), 3 * (6 + 2)),
    "TER": (TER, 2),
    "TER-norm-nopunct": (lambda: TER(normalized=True, no_punct=True, case_sensitive=True), 2),
}
BROKEN = (
    "sacrebleu {version}: {call} no longer returns what corpus_score/sentence_score do; this release "
    "changed sacrebleu's private API. Fix mtharness/scoring/sacrebleu_api.py (the only module that uses "
    "it) before widening VERIFIED_SACREBLEU"
)


def _broken(call: str) -> str:
    return BROKEN.format(version=metadata.version("sacrebleu"), call=call)


def _stats(metric: Metric, refs: list[list[str]] = REFS) -> list[list[Any]]:
    api.set_references(metric, refs)
    return api.segment_statistics(metric, HYPS)


@pytest.mark.parametrize("label", list(METRICS))
def test_corpus_score_from_statistics_equals_public_corpus_score(label: str) -> None:
    make, width = METRICS[label]
    public = make()
    want = public.corpus_score(HYPS, REFS)
    ours = make()
    stats = _stats(ours)
    assert len(stats) == len(HYPS) and all(len(row) == width for row in stats), _broken(
        f"_extract_corpus_statistics row layout ({label}: {[len(r) for r in stats]}, expected {width} each)"
    )
    got = api.corpus_score(ours, stats)
    assert (got.name, got.score, str(got)) == (want.name, want.score, str(want)), _broken(
        f"_aggregate_and_compute ({label})"
    )
    assert ours.get_signature().format() == public.get_signature().format(), _broken(
        f"_cache_references / num_refs in the signature ({label})"
    )
    sums = [sum(col) for col in zip(*stats, strict=True)]
    assert api.score_from_sums(ours)(sums).score == pytest.approx(want.score, abs=1e-9), _broken(
        f"_compute_score_from_stats ({label})"
    )


@pytest.mark.parametrize("label", ["chrF2", "chrF2++", "TER"])
def test_one_row_scores_equal_public_sentence_score(label: str) -> None:
    make, _ = METRICS[label]
    ours = make()
    stats = _stats(ours)
    for i, hyp in enumerate(HYPS):
        want = make().sentence_score(hyp, [r[i] for r in REFS]).score
        assert api.corpus_score(ours, [stats[i]]).score == pytest.approx(want, abs=1e-9), _broken(
            f"_aggregate_and_compute on one segment ({label}, segment {i})"
        )
        assert api.score_from_sums(ours)(stats[i]).score == pytest.approx(want, abs=1e-9), _broken(
            f"_compute_score_from_stats on one segment ({label}, segment {i})"
        )


def test_sentence_bleu_with_effective_order() -> None:
    ours = BLEU(effective_order=True)
    stats = _stats(ours, [REFS[0]])
    for i, hyp in enumerate(HYPS):
        want = BLEU(effective_order=True).sentence_score(hyp, [REFS[0][i]]).score
        assert api.corpus_score(ours, [stats[i]]).score == pytest.approx(want, abs=1e-9), _broken(
            f"_aggregate_and_compute, BLEU effective order (segment {i})"
        )


def test_variable_reference_count_signature() -> None:
    refs = [REFS[0], [r or None for r in REFS[1]]]  # segment 4 has one reference only
    public, ours = CHRF(), CHRF()
    want = public.corpus_score(HYPS, refs)  # type: ignore[arg-type]
    got = api.corpus_score(ours, _stats(ours, refs))  # type: ignore[arg-type]
    assert got.score == want.score and ours.get_signature().format() == public.get_signature().format()
    assert "nrefs:var" in ours.get_signature().format(), _broken("_cache_references with a missing reference")


def test_references_block_restores_the_previous_cache() -> None:
    metric = CHRF()
    api.set_references(metric, [REFS[0]])
    before = api.segment_statistics(metric, HYPS)
    with api.references(metric, [["x"] * len(HYPS)]):
        assert api.segment_statistics(metric, HYPS) != before
    assert api.segment_statistics(metric, HYPS) == before, _broken("_ref_cache (set and restored)")
    with pytest.raises(ValueError, match="no references cached"):
        api.segment_statistics(CHRF(), HYPS)


def test_ter_words_are_what_the_edit_search_sees() -> None:
    from sacrebleu.metrics.lib_ter import translation_edit_rate

    metric = TER(no_punct=True)
    stats = _stats(metric)
    cached = api.ter_reference_words(metric)
    assert len(cached) == len(HYPS) and all(len(refs) == 2 for refs in cached), _broken(
        "TER _ref_cache layout"
    )
    for i, hyp in enumerate(HYPS):
        words = api.ter_words(metric, hyp)
        edits = [translation_edit_rate(words, ref)[0] for ref in cached[i]]
        assert stats[i][0] == min(edits), _broken(f"TER _preprocess_segment / ref_words (segment {i})")


def test_tokenized_period_warning_switch() -> None:
    bleu, forced = BLEU(), BLEU(force=True)
    assert api.warns_on_tokenized(bleu) and not api.warns_on_tokenized(forced)
    assert not api.warns_on_tokenized(CHRF())
    with api.tokenized_warning_off([bleu]):
        assert not api.warns_on_tokenized(bleu)
    assert api.warns_on_tokenized(bleu), _broken("BLEU._force")


def test_bad_inputs_raise_sacrebleus_own_error() -> None:
    with pytest.raises(TypeError, match="BLEU: Each element of `hyps` should be a string"):
        api.check_corpus_args(BLEU(), [1, 2], REFS)  # type: ignore[list-item]


def _release(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", version.split("+")[0])[:3])


def test_installed_sacrebleu_is_a_verified_release() -> None:
    low, high = api.VERIFIED_SACREBLEU
    installed = metadata.version("sacrebleu")
    assert _release(low) <= _release(installed) < _release(high), (
        f"sacrebleu {installed} is outside the releases scoring/sacrebleu_api.py was verified with "
        f"(>={low},<{high}); run this file against it and widen VERIFIED_SACREBLEU if it passes"
    )
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    (pin,) = [d for d in deps if re.match(r"sacrebleu\b", d)]
    assert pin.replace(" ", "") == f"sacrebleu>={low},<{high}", (
        f"pyproject pins {pin!r}, the adapter says {low}..{high}"
    )


def test_per_segment_calls_of_the_compiled_counting() -> None:
    """fastngram prepares text and picks chrF's best reference with these; each equals sacrebleu's own."""
    for name, (make, _) in METRICS.items():
        metric = make()
        stats = _stats(metric)
        for i, hyp in enumerate(HYPS):
            row = api.one_segment_statistics(metric, hyp, [REFS[0][i], None, REFS[1][i]])
            assert row == stats[i], _broken(f"{name} _extract_reference_info / _compute_segment_statistics")
    chrf = CHRF(word_order=2, lowercase=True)
    assert api.preprocess(chrf, "A B") == "a b", _broken("CHRF._preprocess_segment")
    assert api.preprocess(BLEU(), "a, b. ") == "a , b .", _broken("BLEU._preprocess_segment")
    assert api.chrf_words(chrf, "(hi) there, you") == ["(hi", ")", "there", ",", "you"], _broken(
        "CHRF._remove_punctuation"
    )
    for i, hyp in enumerate(HYPS):
        row = api.one_segment_statistics(chrf, hyp, [REFS[0][i]])
        assert api.chrf_f_score(chrf, row) == chrf.sentence_score(hyp, [REFS[0][i]]).score, _broken(
            "CHRF._compute_f_score"
        )
