"""The Starlette app of `mtharness serve`: routes, templates, error pages; the pages' content comes
from the modules beside it (runs, run, compare, segments), which call the library the CLI calls.

Every page is a GET whose whole state is its query string (shareable, reload-safe); nothing writes
anywhere except the run index (a cache file inside the results folder). Endpoints are plain
functions, so Starlette runs them in its thread pool and a slow comparison does not block the
others. Errors: a run that cannot be read is one line on a 4xx page, never a 500.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jinja2
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from mtharness import __version__
from mtharness.core import MtharnessError
from mtharness.serve import urlstate
from mtharness.serve.security import Guard, safe_file

HERE = Path(__file__).resolve().parent
log = logging.getLogger(__name__)


def templates() -> jinja2.Environment:
    """Autoescape on for every template (not by file name): a segment's `<script>` is shown as text."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = urlstate.num
    env.filters["path"] = urlstate.path_quote
    env.globals["url"] = urlstate.url
    env.globals["version"] = __version__
    return env


class Site:
    """What every endpoint needs: the results folders, the run index, the templates."""

    def __init__(self, roots: Sequence[Path]) -> None:
        from mtharness.serve.runs import Runs
        from mtharness.serve.runspage import Indexes

        self.roots = [Path(r) for r in roots]
        self.env = templates()
        self.runs = Runs(self.roots)
        self.indexes = Indexes(self.roots)

    def page(self, request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        html = self.env.get_template(name).render(request=request, roots=self.roots, **context)
        return HTMLResponse(html, status_code=status)


def create_app(roots: Sequence[Path], token: str | None = None, host: str = "127.0.0.1") -> Guard:
    """The ASGI app over ``roots`` (each a results folder), behind the Guard (read-only, token)."""
    from mtharness.serve import pages

    site = Site(roots)

    def runs_page(request: Request) -> Response:
        return pages.runs_page(site, request)

    def run_page(request: Request) -> Response:
        return pages.run_page(site, request, request.path_params["key"])

    def compare_page(request: Request) -> Response:
        return pages.compare_page(site, request)

    def segments_page(request: Request) -> Response:
        return pages.segments_page(site, request)

    def files(request: Request) -> Response:
        path = safe_file(site.roots, request.path_params["root"], request.path_params["path"])
        if path is None:
            raise HTTPException(404, "no such file under the results folders")
        # text files as text (never rendered as HTML: a run's file is data, not a page of ours)
        media = "text/plain; charset=utf-8" if path.suffix in TEXT_SUFFIXES else None
        return FileResponse(path, media_type=media)

    async def not_found(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 404
        detail = exc.detail if isinstance(exc, HTTPException) else "not found"
        return site.page(request, "error.html", status, title=f"{status}", message=detail)

    async def bad_input(request: Request, exc: Exception) -> Response:
        return site.page(request, "error.html", 400, title="cannot show this", message=str(exc))

    async def server_error(request: Request, exc: Exception) -> Response:
        log.exception("mtharness serve: %s failed", request.url.path, exc_info=exc)
        return site.page(
            request, "error.html", 500, title="internal error", message=f"{type(exc).__name__}: {exc}"
        )

    routes = [
        Route("/", runs_page, methods=["GET", "HEAD"]),
        Route("/run/{key:path}", run_page, methods=["GET", "HEAD"]),
        Route("/compare", compare_page, methods=["GET", "HEAD"]),
        Route("/segments", segments_page, methods=["GET", "HEAD"]),
        Route("/files/{root:int}/{path:path}", files, methods=["GET", "HEAD"]),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    app = Starlette(
        routes=routes,
        exception_handlers={
            HTTPException: not_found,
            MtharnessError: bad_input,
            Exception: server_error,
        },
    )
    return Guard(app, token, allowed_hosts=[host])


# a run folder's files shown as text in the browser (JSON, logs, hypotheses, markdown)
TEXT_SUFFIXES = {".json", ".jsonl", ".txt", ".log", ".md", ".yaml", ".yml", ".tsv", ".csv"}


def json_response(payload: Any) -> JSONResponse:
    return JSONResponse(payload)


def serve_forever(app: Guard, sock: socket.socket) -> None:
    """Run uvicorn on the socket the CLI bound (so a port in use was reported before we got here)."""
    import uvicorn

    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    server.run(sockets=[sock])
