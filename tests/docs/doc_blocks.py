"""Fenced code blocks of README.md and docs/*.md, split into the commands a reader would type.

The marker convention (docs/development.md): a command whose comment holds ``needs: WHAT``
(``# a local LLM (needs: gpu)``, ``# needs: hub``) needs something CI does not have (a GPU, the
hub, a key, a server, root, SLURM, the network, minutes of time); it is parsed, not run. A block
whose first line is a comment naming a file (``# my_pkg/upper.py``, ``# conf/translator/x.yaml: ...``)
is written to that path instead of run, so later blocks can use it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

FENCE = re.compile(r"^```([A-Za-z0-9_+-]*)[^\n]*\n(.*?)^```[ \t]*$", re.S | re.M)
NEEDS = re.compile(r"\bneeds:\s*([a-z][a-z0-9_-]*(?:\s*,\s*[a-z][a-z0-9_-]*)*)")
FILE_HEADER = re.compile(r"^#\s*([\w./-]+\.(?:py|ya?ml|txt|tsv|json|en|es|de))\s*(?::.*)?$")
ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=(\"[^\"]*\"|'[^']*'|\S*)\s*(#.*)?$")
SHELL_LANGS = {"bash", "sh", "shell"}


@dataclass
class Command:
    text: str  # as a reader types it (continuation lines joined by the shell, comments kept)
    line: int  # 1-based line in the doc file
    needs: list[str] = field(default_factory=list)

    @property
    def assignment(self) -> bool:
        """`SET="..."`: a shell variable later commands of the block use."""
        return bool(ASSIGNMENT.match(self.text.strip()))


@dataclass
class Block:
    lang: str
    body: str
    line: int  # line of the first body line
    path: str | None = None  # a "# path/file.ext" header: written to that path
    needs: list[str] = field(default_factory=list)  # python: a "needs:" comment on its first line

    def commands(self) -> list[Command]:
        out: list[Command] = []
        lines = self.body.split("\n")
        i = 0
        while i < len(lines):
            start = i
            parts = [lines[i]]
            while parts[-1].rstrip().endswith("\\") and i + 1 < len(lines):
                i += 1
                parts.append(lines[i])
            i += 1
            text = "\n".join(parts)
            if not text.strip() or text.lstrip().startswith("#"):
                continue
            needs = [w for m in NEEDS.finditer(text) for w in re.split(r"\s*,\s*", m.group(1))]
            out.append(Command(text, self.line + start, needs))
        return out


def _needs(text: str) -> list[str]:
    return [w for m in NEEDS.finditer(text) for w in re.split(r"\s*,\s*", m.group(1))]


def blocks(doc: Path) -> list[Block]:
    """Shell and python blocks (and blocks naming a file) of one Markdown file, in order."""
    text = doc.read_text(encoding="utf-8")
    out = []
    for m in FENCE.finditer(text):
        lang, body = m.group(1).lower(), m.group(2)
        line = text.count("\n", 0, m.start(2)) + 1
        first = body.split("\n", 1)[0]
        header = FILE_HEADER.match(first.strip())
        if header:
            out.append(Block(lang, body, line, path=header.group(1)))
        elif lang in SHELL_LANGS:
            out.append(Block(lang, body, line))
        elif lang == "python":
            out.append(Block(lang, body, line, needs=_needs(first) if first.startswith("#") else []))
    return out
