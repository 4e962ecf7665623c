"""Keep secrets out of everything a tracker receives: secret-named keys redacted, their values scrubbed.

A key is secret when one of its words (split on ``_``, ``-``, ``.`` and case changes) is a secret
word (token, password, secret, ...) or it names a key (api_key, access_key, private_key). Keys that
hold the NAME of an environment variable (``*_env``, e.g. ``api_key_env``) are not secret. The values
found under secret keys, and those of secret-named environment variables, are then replaced in
every text a tracker gets (artifacts included), so a secret copied elsewhere is caught too.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

REDACTED = "***"
SECRET_WORDS = frozenset(
    {"token", "password", "passwd", "secret", "credential", "credentials", "auth", "authorization",
     "bearer", "cookie", "apikey", "passphrase"}
)  # fmt: skip
KEY_OWNERS = frozenset({"api", "access", "private", "secret", "signing", "client"})
MIN_SCRUB_CHARS = 6  # shorter values ("1", "true") would blank out ordinary text
_WORD = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")
_URL_CREDENTIALS = re.compile(r"(?<=://)[^/@\s:]+:[^/@\s]+@")


def words(key: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(str(key))]


def is_secret_key(key: str) -> bool:
    """'api_key', 'WANDB_API_KEY', 'token', 'hf_token', 'password' -> True; 'max_new_tokens', 'api_key_env' -> False."""
    parts = words(key)
    if not parts or parts[-1] == "env":
        return False
    if any(w in SECRET_WORDS for w in parts):
        return True
    return any(w == "key" and i > 0 and parts[i - 1] in KEY_OWNERS for i, w in enumerate(parts))


def redact(value: Any, found: set[str] | None = None) -> Any:
    """A copy of ``value`` with every secret-named key's value replaced by REDACTED (recorded in ``found``)."""
    found = set() if found is None else found
    if isinstance(value, Mapping):
        out = {}
        for key, sub in value.items():
            if is_secret_key(str(key)) and sub not in (None, ""):
                _collect(sub, found)
                out[key] = REDACTED
            else:
                out[key] = redact(sub, found)
        return out
    if isinstance(value, list | tuple):
        return [redact(v, found) for v in value]
    if isinstance(value, str):
        return _URL_CREDENTIALS.sub(f"{REDACTED}@", value)
    return value


def _collect(value: Any, found: set[str]) -> None:
    if isinstance(value, Mapping):
        for sub in value.values():
            _collect(sub, found)
    elif isinstance(value, list | tuple):
        for sub in value:
            _collect(sub, found)
    elif value is not None and len(str(value)) >= MIN_SCRUB_CHARS:
        found.add(str(value))


def environment_secrets(environ: Mapping[str, str] | None = None) -> set[str]:
    """Values of secret-named environment variables (OPENAI_API_KEY, WANDB_API_KEY, MLFLOW_TRACKING_TOKEN)."""
    env = os.environ if environ is None else environ
    return {v for k, v in env.items() if is_secret_key(k) and len(v) >= MIN_SCRUB_CHARS}


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret value (longest first) and URL credentials replaced by REDACTED."""
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return _URL_CREDENTIALS.sub(f"{REDACTED}@", text)
