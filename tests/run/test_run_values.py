"""Values of run settings, empty sources and the copy rate."""

from __future__ import annotations

import pytest

from mtharness.core import LanguagePair, MtharnessError
from mtharness.data.loaders import from_columns
from mtharness.run.evaluate import copy_rate, evaluate
from mtharness.run.options import flag, whole_number
from mtharness.run.settings import RunSettings
from mtharness.run.writer import record_of
from mtharness.translators.echo import EchoTranslator


@pytest.mark.parametrize(("value", "expected"), [(5, 5), ("7", 7), (3.0, 3), (" 12 ", 12), (None, None)])
def test_whole_numbers(value: object, expected: int | None) -> None:
    assert whole_number(value, "limit", 1, allow_none=True) == expected


@pytest.mark.parametrize("value", ["abc", 2.5, True, "1e3", "", [1], float("nan"), 0, -1])
def test_not_whole_numbers_name_the_key(value: object) -> None:
    with pytest.raises(MtharnessError, match=r"^limit="):
        whole_number(value, "limit", 1, allow_none=True)


def test_flags_and_the_whole_config() -> None:
    assert flag(False, "round_trip") is False
    with pytest.raises(MtharnessError, match="round_trip='yes' must be true or false"):
        flag("yes", "round_trip")
    settings = RunSettings.from_config({"limit": None, "chunk_size": 16, "shard": {"count": 1}, "cache": {}})
    assert settings.chunk_size == 16 and settings.overwrite is False and settings.shard is None
    with pytest.raises(MtharnessError, match=r"shard\.count=2\.5"):
        RunSettings.from_config({"shard": {"count": 2.5, "index": 0}})


def test_empty_sources_are_not_copies() -> None:
    sources = ["Hello there.", "", "   ", "Good night."]
    assert copy_rate(sources, ["Hello there.", "", "", "Buenas noches."]) == 0.5
    ds = from_columns("t", LanguagePair("en", "es"), sources, [["Hola.", "", "", "Buenas noches."]])
    result = evaluate(ds, EchoTranslator(), progress=False, validity=None, round_trip=False)
    record = record_of(result)
    assert record.copy_rate == 1.0 and record.empty_sources == 2
    assert record.to_json()["copy_rate"] == 1.0 and record.to_json()["empty_sources"] == 2


def test_all_empty_source_is_an_error() -> None:
    ds = from_columns(
        "blank", LanguagePair("en", "es"), ["", " ", "\t"], [["a", "b", "c"]], origin="blank.en"
    )
    with pytest.raises(
        MtharnessError, match=r"dataset blank \(blank.en\): every one of its 3 source segments"
    ):
        evaluate(ds, EchoTranslator(), progress=False, validity=None)
