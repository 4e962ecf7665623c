"""`mtharness ARGS` parsed, not run: for documented commands that need a GPU, the hub, a key or a server.

`run`: the Hydra overrides are parsed and the config is composed (`--cfg job`, nothing instantiated
or loaded); a sweep (`-m`) is composed with the first value of each swept key. Other commands: their
argparse parser reads the arguments and the command stops there. Exit 0 when it parses, else the
command's own error and exit code.
"""

from __future__ import annotations

import argparse
import sys


class _Parsed(Exception):
    pass


def _first_of_sweeps(overrides: list[str]) -> list[str]:
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parser = OverridesParser.create()
    out = []
    for arg in overrides:
        if arg.startswith("-") or "=" not in arg:
            out.append(arg)
            continue
        override = parser.parse_override(arg)  # a syntax error is the user's error here, as in a real run
        if override.is_sweep_override():
            first = next(iter(override.sweep_string_iterator()))
            arg = f"{override.get_key_element()}={first}"
        out.append(arg)
    return out


def main(argv: list[str]) -> int:
    from mtharness.cli import main as cli_main

    if argv[:1] == ["run"]:
        rest = [a for a in argv[1:] if a not in ("-m", "--multirun")]
        options = []
        while rest and rest[0].startswith("--config-"):  # --config-dir DIR / --config-name NAME
            options += rest[:2]
            rest = rest[2:]
        try:
            rest = _first_of_sweeps(rest)
        except Exception as exc:  # Hydra's parse error, shown as the run shows it
            print(f"mtharness run: error: {exc}", file=sys.stderr)
            return 2
        return cli_main(["run", *options, *rest, "--cfg", "job"])
    original = argparse.ArgumentParser.parse_args

    def parse_and_stop(self: argparse.ArgumentParser, *args: object, **kwargs: object) -> object:
        original(self, *args, **kwargs)
        raise _Parsed

    argparse.ArgumentParser.parse_args = parse_and_stop  # type: ignore[method-assign,assignment]
    try:
        return cli_main(argv)
    except _Parsed:
        return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
