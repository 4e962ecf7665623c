"""Checks for the values of a run's scalar settings (run.settings.RunSettings applies them once).

Hydra parses `limit=abc` as a string and `limit=2.5` as a float; neither may reach the runner, where
they would end in a TypeError deep inside, or (worse) be truncated silently to another number.
"""

from __future__ import annotations

import re
from typing import Any

from mtharness.core import MtharnessError

_INTEGER = re.compile(r"^\s*[+-]?\d+\s*$")


def whole_number(value: Any, key: str, minimum: int | None = None, allow_none: bool = False) -> int | None:
    """``value`` as an int; a bool, a fraction or a word is one error naming ``key``."""
    if value is None and allow_none:
        return None
    hint = f"a whole number >= {minimum}" if minimum is not None else "a whole number"
    if allow_none:
        hint += " (or null)"
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif (isinstance(value, float) and value.is_integer()) or (
        isinstance(value, str) and _INTEGER.match(value)
    ):
        number = int(value)
    if number is None:
        raise MtharnessError(f"{key}={value!r} is not {hint}; e.g. {key}={max(minimum or 0, 1)}")
    if minimum is not None and number < minimum:
        raise MtharnessError(f"{key}={number} must be {hint}")
    return number


def flag(value: Any, key: str) -> bool:
    """``value`` as a bool: true/false (Hydra parses them); anything else is one error naming ``key``."""
    if isinstance(value, bool):
        return value
    raise MtharnessError(f"{key}={value!r} must be true or false")
