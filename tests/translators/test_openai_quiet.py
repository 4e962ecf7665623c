"""translator=openai: no line per request unless asked (debug level, URL without its query), and a
server that is down stops the run at the first refused connection, not after every backoff."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from mtharness.core import MtharnessError
from mtharness.translators.openai import OpenAITranslator
from tests.helpers.net import free_port
from tests.helpers.openai_fault_server import FaultServer


@pytest.fixture
def server() -> Iterator[FaultServer]:
    with FaultServer(slow_s=2.0) as srv:
        yield srv


def test_requests_are_not_logged_at_info(server: FaultServer, caplog: pytest.LogCaptureFixture) -> None:
    t = OpenAITranslator(model="tiny", base_url=server.base_url + "?token=secret", max_retries=0)
    with caplog.at_level(logging.INFO):
        assert t.translate(["one", "two"], "en", "es") == ["ONE", "TWO"]
    assert not [r for r in caplog.records if r.name.startswith(("httpx", "httpcore"))]
    assert "HTTP Request" not in caplog.text and "/chat/completions" not in caplog.text
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="mtharness.http"):
        t.translate(["three"], "en", "es")
    lines = [r.getMessage() for r in caplog.records if r.name == "mtharness.http"]
    assert len(lines) == 1 and "HTTP 200" in lines[0] and "token" not in lines[0]


def test_a_server_that_is_down_fails_at_the_first_attempt() -> None:
    port = free_port()  # nothing listens there
    # 5 retries with a minute of backoff each: only failing fast can end this test
    t = OpenAITranslator(model="tiny", base_url=f"http://127.0.0.1:{port}/v1", max_retries=5, backoff_s=60)
    with pytest.raises(MtharnessError) as info:
        t.translate(["one"], "en", "es")
    message = str(info.value)
    assert "no server answers" in message and f"127.0.0.1:{port}" in message and "\n" not in message
    assert t.usage()["requests"] == 1 and t.usage()["retries"] == 0


def test_retries_and_waits_reach_the_progress_bar(
    server: FaultServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tqdm import tqdm

    import mtharness.run.translate as ev

    t = OpenAITranslator(model="tiny", base_url=server.base_url, max_retries=3, backoff_s=0.02)
    shown: list[str] = []

    class Bar(tqdm):  # type: ignore[type-arg]
        def set_postfix_str(self, s: str = "", refresh: bool = True) -> None:
            shown.append(s)
            super().set_postfix_str(s, refresh)

    monkeypatch.setattr(ev, "tqdm", Bar)  # the run's own bar, seen from here
    out = ev.translate_all(t, ["a FIVEHUNDRED2", "b"], "en", "es", progress=True)
    assert out == ["A FIVEHUNDRED2", "B"]
    assert [s.split(" in ")[0] for s in shown] == ["HTTP 500: retry 1/3", "HTTP 500: retry 2/3"]
    assert all(s.endswith(" s") for s in shown)
