"""Credentials typed into an override never reach a file or the terminal.

A key pasted as ``translator.api_key_env=sk-...`` (the variable's NAME belongs there) is refused before
Hydra writes anything, and the line saying so does not show it. Any other override value that looks like
a credential (a known key prefix, a long hex or JWT string, a password in a URL, ``?key=...``) is used
as given, but masked as ``***`` in what Hydra writes (.hydra/config.yaml, hydra.yaml, overrides.yaml),
in scores.json's config, in log lines (console and run.log) and in error lines.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from mtharness.core import MtharnessError

MASK = "***"
_KEY = re.compile(
    r"(?<![A-Za-z0-9])(?:sk-[A-Za-z0-9_-]{16,}|sk_(?:live|test)_[A-Za-z0-9]{16,}|hf_[A-Za-z0-9]{30,}"
    r"|gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{20,}|xox[abpr]-[A-Za-z0-9-]{10,}"
    r"|AKIA[0-9A-Z]{16}|AIza[0-9A-Za-z_-]{30,}|eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"
    r"|[0-9a-fA-F]{32,})(?![A-Za-z0-9])"
)
_URL_PASSWORD = re.compile(r"://[^/:@\s]+:([^@/\s]+)@")
_URL_PARAM = re.compile(r"[?&](?:key|api_key|apikey|token|access_token|secret|password|sig)=([^&#\s]+)", re.I)
_SECRETS: list[str] = []


def secrets_in(value: str) -> list[str]:
    """The parts of ``value`` that look like credentials."""
    found = [m.group() for m in _KEY.finditer(value)]
    found += [m.group(1) for m in _URL_PASSWORD.finditer(value)]
    found += [m.group(1) for m in _URL_PARAM.finditer(value)]
    return [s for s in found if len(s) >= 6]


def redact(text: str) -> str:
    """``text`` with every credential seen in this process's overrides masked."""
    for secret in _SECRETS:
        text = text.replace(secret, MASK)
    return text


def redact_tree(obj: Any) -> Any:
    if not _SECRETS:
        return obj
    if isinstance(obj, str):
        return redact(obj)
    if isinstance(obj, dict):
        return {k: redact_tree(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [redact_tree(v) for v in obj]
    return obj


def check_overrides(argv: Sequence[str]) -> None:
    """Remember the credentials in ``argv``; refuse one given where a variable's NAME belongs."""
    for arg in argv:
        key, sep, value = arg.partition("=")
        if not sep or key.startswith("-"):
            continue
        found = secrets_in(value)
        _SECRETS.extend(s for s in found if s not in _SECRETS)
        if key.lstrip("+~").endswith("_env") and (found or len(value) > 64):
            name = key.lstrip("+~")
            raise MtharnessError(
                f"{name}: the value looks like a key itself (not shown); put the key in an environment "
                f"variable and give its NAME: export OPENAI_API_KEY=<key>; {name}=OPENAI_API_KEY"
            )
    _SECRETS.sort(key=len, reverse=True)  # a longer secret containing a shorter one is masked whole
    if _SECRETS:
        _mask_hydra_files()
        # anything else that prints (Hydra's "Error executing job with overrides: [...]", a bug's
        # traceback) goes through the mask too
        if not isinstance(sys.stderr, _RedactingStream):
            sys.stderr = _RedactingStream(sys.stderr)
        if not isinstance(sys.stdout, _RedactingStream):
            sys.stdout = _RedactingStream(sys.stdout)


class _RedactingStream:
    def __init__(self, inner: TextIO) -> None:
        self._inner = inner

    def write(self, text: str) -> int:
        return self._inner.write(redact(text))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def _mask_hydra_files() -> None:
    """Hydra writes the composed config and the overrides itself (hydra.core.utils._save_config): that
    one function writes all three .hydra/*.yaml files, so masking there covers them."""
    from hydra.core import utils
    from omegaconf import OmegaConf

    def save_masked(cfg: Any, filename: str, output_dir: Path) -> None:
        output_dir.mkdir(parents=True, exist_ok=True)
        with open(output_dir / filename, "w", encoding="utf-8") as fh:
            fh.write(redact(OmegaConf.to_yaml(cfg)))

    utils._save_config = save_masked


class RedactingFilter(logging.Filter):
    """Masks credentials in a log record before any handler (console, run.log) formats it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _SECRETS:
            record.msg = redact(record.getMessage())
            record.args = None
        return True


def mask_logs() -> None:
    """Every handler the logging config set up (Hydra's console and run.log) masks credentials."""
    if not _SECRETS:
        return
    for handler in logging.getLogger().handlers:
        handler.addFilter(RedactingFilter())
