"""The session's `transformers serve` server on the tiny chat LM (the `served` fixture).

One definition for the whole session, registered as a plugin by tests/conftest.py: a test module that
imported the fixture function would get a second server of its own. Under xdist every test that takes
`served` runs on one worker (tests/conftest.py groups them), so one server is started per run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.net import answers_health, free_port

REPO = Path(__file__).resolve().parents[2]
TINY_LLM = Path(os.environ.get("MTHARNESS_TINY_LLM", REPO / "tests" / "fixtures" / "tiny_llm"))


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """{base_url, model}: `transformers serve` on the tiny LM, stopped at the end of the session."""
    pytest.importorskip(
        "fastapi", reason="transformers serve needs the extra: pip install 'mtharness[serve,openai]'"
    )
    pytest.importorskip(
        "uvicorn", reason="transformers serve needs the extra: pip install 'mtharness[serve,openai]'"
    )
    if not (TINY_LLM / "config.json").exists():
        pytest.skip(f"{TINY_LLM} missing: python scripts/make_tiny_models.py llm-copy {TINY_LLM}")
    exe = Path(sys.executable).with_name("transformers")
    if not exe.exists():
        pytest.skip(f"no `transformers` console script beside {sys.executable}")
    port = free_port()
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    argv = [str(exe), "serve", str(TINY_LLM), "--port", str(port), "--device", "cpu", "--host", "127.0.0.1"]
    with log.open("wb") as sink:
        proc = subprocess.Popen(argv, stdout=sink, stderr=subprocess.STDOUT, env=env)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while not answers_health(base):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            tail = log.read_text(errors="replace")[-600:]
            pytest.skip(f"transformers serve did not come up on port {port}: {tail}")
        time.sleep(0.5)
    try:
        yield {"base_url": base + "/v1", "model": str(TINY_LLM)}
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
