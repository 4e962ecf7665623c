"""`mtharness serve [RESULTS_DIR ...]`: the local, read-only web browser over run folders.

Parsing and checking only; the app is mtharness.serve.app (Starlette, imported once the arguments
are good, so `--help` and a bad argument never import the web stack).
"""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Sequence
from pathlib import Path

from mtharness.cli.args import Parser
from mtharness.core import MtharnessError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765


def _parser() -> Parser:
    p = Parser(
        prog="mtharness serve",
        description="A local web app over finished run folders: runs (sort, filter, pick to compare), "
        "one run's scores and files, comparisons (the numbers of `mtharness compare`) and the segments "
        "side by side. Read-only; docs/browsing.md.",
    )
    p.add_argument(
        "results_dirs",
        nargs="*",
        default=["results"],
        metavar="RESULTS_DIR",
        help="folders holding run folders, searched recursively (default: results)",
    )
    p.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help=f"address to listen on (default {DEFAULT_HOST}: this machine only); any other needs --token",
    )
    p.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0: a free one)"
    )
    p.add_argument("--open", action="store_true", help="open the runs page in the default web browser")
    p.add_argument(
        "--token",
        default=None,
        help="secret every request must carry (?token=, cookie, or an Authorization: Bearer header); "
        "default $MTHARNESS_SERVE_TOKEN; required with a --host other than loopback",
    )
    return p


def _listen(host: str, port: int) -> socket.socket:
    """The listening socket, bound here so that a port in use is one line, not a server traceback."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise MtharnessError(f"--host {host}: not an address of this machine ({exc.strerror})") from None
    family, _, _, _, address = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise MtharnessError(
            f"--port {port}: cannot listen on {host}:{port} ({exc.strerror}); is another server using it? "
            "pick another --port (0: any free one)"
        ) from None
    sock.listen(128)
    return sock


def main(argv: Sequence[str]) -> int:
    args = _parser().parse_args(list(argv))
    from mtharness.serve.security import TOKEN_ENV, is_loopback

    roots = [Path(d) for d in args.results_dirs]
    for root in roots:
        if not root.is_dir():
            raise MtharnessError(
                f"results folder {root}: not a directory (give the folder your runs write to, e.g. results)"
            )
    if not 0 <= args.port <= 65535:
        raise MtharnessError(f"--port {args.port}: must be between 0 and 65535")
    token = args.token or os.environ.get(TOKEN_ENV) or None
    if not is_loopback(args.host):
        if token is None:
            raise MtharnessError(
                f"--host {args.host}: other machines could read every run; give --token SECRET "
                f"(or set {TOKEN_ENV}) to serve beyond 127.0.0.1"
            )
        print(
            f"warning: serving on {args.host}: anyone who can reach this address and knows the token can "
            "read these runs (the token travels unencrypted over plain HTTP)",
            file=sys.stderr,
        )
    sock = _listen(args.host, args.port)
    from mtharness.serve.app import create_app, serve_forever

    app = create_app(roots, token=token, host=args.host)
    port = sock.getsockname()[1]
    shown = f"[{args.host}]" if ":" in args.host else args.host
    url = f"http://{shown}:{port}/" + (f"?token={token}" if token else "")
    print(f"serving {', '.join(str(r) for r in roots)} at {url} (Ctrl-C stops)", flush=True)
    if args.open:
        import webbrowser

        webbrowser.open(url)
    serve_forever(app, sock)
    return 0
