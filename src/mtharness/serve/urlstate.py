"""A page's state lives in its query string: reading it (typed, with defaults and one-line errors)
and writing links that change one part of it and keep the rest (sort, page, filters)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, urlencode

from mtharness.core import MtharnessError, format_score

Params = Mapping[str, Any]


def url(path: str, params: Params | None = None, **changes: Any) -> str:
    """``path?query`` from ``params`` (a page's current state: a dict of str or list of str) with
    ``changes`` applied; a change to None or "" drops that key. A change of anything but the page
    number sends the reader back to page 1."""
    state: dict[str, Any] = {k: v for k, v in (params or {}).items()}
    if changes and "page" not in changes:
        state.pop("page", None)
    for key, value in changes.items():
        state[key] = value
    pairs: list[tuple[str, str]] = []
    for key, value in state.items():
        values = value if isinstance(value, list | tuple) else [value]
        pairs += [(key, str(v)) for v in values if v is not None and v != ""]
    return path + ("?" + urlencode(pairs) if pairs else "")


def state_of(query: Iterable[tuple[str, str]], multi: Iterable[str] = ()) -> dict[str, Any]:
    """The query string as a dict: one value per key (the last), a list for the keys in ``multi``."""
    lists = set(multi)
    out: dict[str, Any] = {}
    for key, value in query:
        if key == "token":  # the token lives in the cookie once the first page set it; links never carry it
            continue
        if key in lists:
            out.setdefault(key, []).append(value)
        else:
            out[key] = value
    return out


def number(state: Params, key: str, default: float | None = None) -> float | None:
    raw = state.get(key)
    if raw in (None, ""):
        return default
    try:
        return float(raw)
    except ValueError:
        raise MtharnessError(f"?{key}={raw}: not a number") from None


def integer(state: Params, key: str, default: int, low: int = 0, high: int | None = None) -> int:
    raw = state.get(key)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise MtharnessError(f"?{key}={raw}: not a whole number") from None
    if value < low or (high is not None and value > high):
        top = f" and {high}" if high is not None else " or more"
        raise MtharnessError(f"?{key}={raw}: must be {low}{top}")
    return value


def choice(state: Params, key: str, options: Iterable[str], default: str) -> str:
    raw = state.get(key) or default
    allowed = list(options)
    if raw not in allowed:
        raise MtharnessError(f"?{key}={raw}: one of {', '.join(allowed)}")
    return str(raw)


def num(value: Any, precision: int = 2, sign: bool = False) -> str:
    """A number as the CLI tables show it (the metric's precision); "" for none, text left as is."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    return format_score(value, precision, sign)


def path_quote(text: str) -> str:
    """A run id or file path as a URL path (slashes kept, everything else quoted)."""
    return quote(str(text), safe="/")
