"""Reading segment files strictly and writing result files atomically."""

from __future__ import annotations

import errno
import json
import logging
import math
import os
import stat
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from mtharness.core import MtharnessError

log = logging.getLogger("mtharness")
_WARNED: set[tuple[str, str]] = set()


def warn_once(key: str, kind: str, message: str) -> None:
    """Log a warning once per process for (``key``, ``kind``): a file read twice, under two names (the
    dataset's source and translator.source), warns once."""
    if (key, kind) in _WARNED:
        return
    _WARNED.add((key, kind))
    log.warning("%s", message)


def _line_list(numbers: list[int], shown: int = 10) -> str:
    head = ", ".join(str(n) for n in numbers[:shown])
    more = f" and {len(numbers) - shown} more" if len(numbers) > shown else ""
    return f"line{'s' if len(numbers) > 1 else ''} {head}{more}"


def normalise_newlines(text: str, where: str = "text", key: str | None = None) -> str:
    """CRLF becomes a line end; a lone CR is whitespace (a space), reported once with its line numbers.

    Lines end only at \\n, as in sacrebleu and `wc -l`: splitting at a lone \\r would silently shift
    every later segment against its reference.
    """
    if "\r" not in text:
        return text
    text = text.replace("\r\n", "\n")
    if "\r" not in text:
        return text
    lines = [n for n, line in enumerate(text.split("\n"), 1) if "\r" in line]
    warn_once(
        key or where,
        "lone CR",
        f"{where}: a lone carriage return (\\r) inside {_line_list(lines)}; read as a space "
        "(lines end only at \\n, as in sacrebleu and wc -l)",
    )
    return text.replace("\r", " ")


def split_lines(text: str) -> list[str]:
    """Lines of a text, split at \\n only (str.splitlines also splits at \\r, \\x0b, \\x1c, U+2028...)."""
    if text == "":
        return []
    return (text[:-1] if text.endswith("\n") else text).split("\n")


def one_line(text: str) -> str:
    """A segment as one line of a line-aligned file: line breaks inside it become spaces."""
    return text.replace("\r\n", " ").replace("\n", " ").replace("\r", " ")


def markdown_cell(text: str) -> str:
    """Text safe inside a markdown table cell: pipes escaped, line breaks flattened."""
    return text.replace("|", "\\|").replace("\n", " ")


def read_text(path: str | Path, what: str = "file") -> str:
    """Read a UTF-8 file; BOM and CRLF are normalised, a lone CR is a space, anything else wrong is one
    clear error."""
    p = Path(path)
    if not p.exists():
        raise MtharnessError(
            f"{what} {p}: no such file; check the path (relative paths are from {Path.cwd()})"
        )
    if p.is_dir():
        raise MtharnessError(f"{what} {p}: is a directory, expected a text file with one segment per line")
    data = p.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise MtharnessError(
            f"{what} {p}, line {line}: invalid UTF-8 (byte offset {exc.start}); re-encode the file as UTF-8"
        ) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    return normalise_newlines(text, f"{what} {p}", str(p.resolve()))


def read_lines(path: str | Path, what: str = "file", allow_empty_file: bool = False) -> list[str]:
    """One segment per line (split at \\n only). A final newline is optional; empty lines are kept as
    empty segments."""
    text = read_text(path, what)
    if text == "":
        if allow_empty_file:
            return []
        raise MtharnessError(f"{what} {path}: file is empty; it must hold one segment per line")
    lines = split_lines(text)
    for i, line in enumerate(lines, 1):
        if "\x00" in line:
            raise MtharnessError(f"{what} {path}, line {i}: contains a NUL byte; is this a binary file?")
    return lines


def read_jsonl(path: str | Path, what: str = "JSONL file", allow_empty_file: bool = False) -> list[Any]:
    """One JSON value per line (blank lines skipped); a bad line is one error naming file and line."""
    rows = []
    for n, line in enumerate(read_lines(path, what, allow_empty_file), 1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise MtharnessError(f"{what} {path}, line {n}: not valid JSON ({exc.msg})") from None
    return rows


def check_same_length(
    first: list[str], first_name: str | Path, other: list[str], other_name: str | Path
) -> None:
    if len(first) != len(other):
        raise MtharnessError(
            f"line counts differ: {first_name} has {len(first)} lines but {other_name} has {len(other)}; "
            "files must be line-aligned (one segment per line)"
        )


_FULL = (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))
_DENIED = (errno.EACCES, errno.EPERM, errno.EROFS)


def describe_os_error(exc: OSError, path: str | Path | None = None) -> str:
    """One line for a failed file operation: which path, what happened (disk full, read-only...), what to do."""
    where = path if path is not None else (exc.filename or "a file")
    reason = exc.strerror or str(exc) or type(exc).__name__
    if exc.errno in _FULL:
        return f"disk full writing {where} ({reason}); free some space there or write to another folder"
    if exc.errno in _DENIED:
        return f"cannot write {where} ({reason}); choose a folder you can write to"
    return f"{where}: {reason}"


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


def output_target(path: str | Path) -> tuple[Path, bool]:
    """Where a write to ``path`` goes, and whether it streams instead of replacing a file.

    A device, FIFO or `-` is written in place (renaming a temp file over /dev/null would turn the
    machine's device into a regular file); a symlink is followed, so its target is the file replaced.
    """
    if str(path) == "-":
        return Path("-"), True
    p = Path(path)
    try:
        mode = os.stat(p).st_mode  # follows symlinks: /dev/stdout is judged by what it points at
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise MtharnessError(describe_os_error(exc, p)) from None
    if mode is not None and stat.S_ISDIR(mode):
        raise MtharnessError(f"{p}: is a directory; give the path of a file to write")
    if mode is not None and stat.S_ISSOCK(mode):
        raise MtharnessError(f"{p}: is a socket, not a file; give the path of a file to write")
    if mode is not None and not stat.S_ISREG(mode):
        return p, True
    if p.is_symlink():
        return Path(os.path.realpath(p)), False
    return p, False


def _stream_write(p: Path, text: str) -> Path:
    if str(p) == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return p
    try:
        with open(p, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
    except OSError as exc:
        raise MtharnessError(describe_os_error(exc, p)) from None
    return p


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write to a temp file in the same folder, fsync, then rename: readers see all or nothing.

    Never replaces anything but a regular file: see output_target.
    """
    p, stream = output_target(path)
    if stream:
        return _stream_write(p, text)
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    except OSError as exc:
        raise MtharnessError(describe_os_error(exc, p)) from None
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)  # mkstemp makes 0600 files; results are ordinary files
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, p)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise MtharnessError(describe_os_error(exc, p)) from None
        raise
    return p


def same_file(a: str | Path, b: str | Path) -> bool:
    """Whether two paths name one existing file (links and relative spellings included)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def finite_json(obj: Any) -> Any:
    """``obj`` with every NaN/Infinity float as None: JSON has no such numbers (json.dumps would write
    bare NaN, which no strict parser reads)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: finite_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite_json(v) for v in obj]
    if hasattr(obj, "item") and not isinstance(obj, (str, bytes)):  # numpy scalars
        return finite_json(obj.item())
    return obj


def _json_default(obj: Any) -> Any:
    # numpy scalars (sacrebleu returns float32 for some statistics) are not JSON-serialisable
    if hasattr(obj, "item"):
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"cannot serialise {type(obj).__name__} to JSON")


def to_json(data: Any) -> str:
    return (
        json.dumps(finite_json(data), indent=2, ensure_ascii=False, default=_json_default, allow_nan=False)
        + "\n"
    )


def atomic_write_json(path: str | Path, data: Any) -> Path:
    return atomic_write_text(path, to_json(data))


def atomic_write_lines(path: str | Path, lines: Iterable[str]) -> Path:
    return atomic_write_text(path, "".join(f"{line}\n" for line in lines))


def atomic_write_jsonl(path: str | Path, rows: Iterable[dict[str, Any]]) -> Path:
    return atomic_write_text(
        path,
        "".join(
            json.dumps(finite_json(r), ensure_ascii=False, default=_json_default, allow_nan=False) + "\n"
            for r in rows
        ),
    )


class _StrictLoader(yaml.SafeLoader):
    """A YAML loader that refuses duplicate keys (PyYAML silently keeps the last one)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise MtharnessError(
                    f"{self.name}, line {key_node.start_mark.line + 1}: duplicate key {key!r} "
                    f"(first on line {seen[key]}); keep one of them"
                )
            seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


def check_yaml_file(path: Path) -> None:
    """Parse a YAML file strictly: syntax errors and duplicate keys as one line with the line number."""
    try:
        with path.open(encoding="utf-8") as fh:  # a stream, so the loader's name is the path
            yaml.load(fh, Loader=_StrictLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f", line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise MtharnessError(f"{path}{where}: invalid YAML ({problem})") from None


def arrow(higher_is_better: bool) -> str:
    """The arrow tables put after a metric's name: which way is better."""
    return "↑" if higher_is_better else "↓"
