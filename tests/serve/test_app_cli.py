"""`mtharness serve` as a user starts it: a real server process on a free loopback port, and bad
command lines (missing folder, port in use, another host without a token) as one line, exit 2."""

from __future__ import annotations

import os
import select
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

pytest.importorskip("uvicorn")
from tests.conftest import run_cli

ENV = {k: v for k, v in os.environ.items() if k != "MTHARNESS_SERVE_TOKEN"}


@contextmanager
def server(args: list[str], env: dict[str, str] | None = None) -> Iterator[str]:
    """`python -m mtharness serve ARGS` running; yields the URL it printed (it listens before printing)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "mtharness", "serve", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env or ENV,
    )
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 120)
        line = proc.stdout.readline() if ready else ""
        assert line.startswith("serving "), (line, proc.poll())
        yield line.split(" at ", 1)[1].split()[0]
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        if proc.stdout:
            proc.stdout.close()
        if proc.stderr:
            proc.stderr.close()


def fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read().decode("utf-8")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8")


def one_line_error(proc: subprocess.CompletedProcess[str], *words: str) -> None:
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mtharness serve: error: "), proc.stderr
    assert "Traceback" not in proc.stderr
    for word in words:
        assert word in lines[0]


def test_a_real_server_answers_on_a_free_port(serve_results: Path) -> None:
    with server([str(serve_results), "--port", "0"]) as url:
        assert url.startswith("http://127.0.0.1:")
        status, page = fetch(url)
        assert status == 200 and 'data-run="0/runs/strong"' in page
        status, _ = fetch(url + "files/0/runs/strong/scores.json")
        assert status == 200
        assert fetch(url + "files/0/%2e%2e/%2e%2e/etc/passwd")[0] == 404


def test_a_token_is_needed_on_every_request(serve_results: Path) -> None:
    with server([str(serve_results), "--port", "0"], {**ENV, "MTHARNESS_SERVE_TOKEN": "tok-123"}) as url:
        assert url.endswith("/?token=tok-123")
        base = url.split("?")[0]
        assert fetch(base)[0] == 401
        assert fetch(base + "?token=nope")[0] == 401
        assert fetch(url)[0] == 200
        assert fetch(base, {"Authorization": "Bearer tok-123"})[0] == 200


def test_missing_results_folder(tmp_path: Path) -> None:
    one_line_error(run_cli(["serve", str(tmp_path / "nope")], tmp_path, ENV), "nope", "not a directory")


def test_default_folder_is_results(tmp_path: Path) -> None:
    one_line_error(run_cli(["serve"], tmp_path, ENV), "results folder results")


def test_another_host_needs_a_token(tmp_path: Path) -> None:
    one_line_error(run_cli(["serve", str(tmp_path), "--host", "0.0.0.0"], tmp_path, ENV), "--token")


def test_port_in_use(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        proc = run_cli(["serve", str(tmp_path), "--port", str(port)], tmp_path, ENV)
    one_line_error(proc, f"--port {port}", "another --port")


@pytest.mark.parametrize("args", [["--port", "70000"], ["--port", "x"]])
def test_bad_port(tmp_path: Path, args: list[str]) -> None:
    proc = run_cli(["serve", str(tmp_path), *args, "--token", "t"], tmp_path, ENV)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) <= 2  # argparse: usage line + the error
