"""The four pages: each reads its state from the query string, asks the library (through the modules
beside this one) and renders one template. ``?format=json`` on Compare gives the `compare --json`
document itself."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mtharness.core import MtharnessError
from mtharness.serve import urlstate
from mtharness.serve.comparepage import MAX_RUNS, CompareCache, direction_view, options
from mtharness.serve.runpage import run_context
from mtharness.serve.security import safe_file

if TYPE_CHECKING:
    from mtharness.serve.app import Site

COMPARE_CACHE = CompareCache()


def _state(request: Request, multi: tuple[str, ...] = ()) -> dict[str, Any]:
    return urlstate.state_of(request.query_params.multi_items(), multi)


def run_page(site: Site, request: Request, key: str) -> Response:
    folder = site.runs.folder(key)
    try:
        run = site.runs.read(key)
    except MtharnessError as exc:  # damaged: the reader's one line, on the run's own page
        return site.page(request, "damaged.html", 200, key=key, folder=folder, reason=str(exc))
    return site.page(
        request,
        "run.html",
        key=key,
        files=site.runs.file_links(folder),
        state=_state(request),
        **run_context(run),
    )


def compare_page(site: Site, request: Request) -> Response:
    state = _state(request, ("run", "metric"))
    keys = list(dict.fromkeys(state.get("run") or []))
    if not 2 <= len(keys) <= MAX_RUNS:
        raise MtharnessError(
            f"compare needs 2 to {MAX_RUNS} runs (?run=KEY&run=KEY, or tick them on the runs page); "
            f"got {len(keys)}"
        )
    opts = options(state)
    runs = [site.runs.read(k) for k in keys]
    human = None
    if state.get("human"):
        root, _, rest = str(state["human"]).partition("/")
        found = safe_file(site.roots, int(root), rest) if root.isdigit() else None
        if found is None:
            raise MtharnessError(f"?human={state['human']}: no such file under the results folders")
        human = str(found)
    payload = COMPARE_CACHE.get(runs, keys, opts, human)
    if state.get("format") == "json":
        return JSONResponse(payload)
    directions = [direction_view(label, block) for label, block in payload["directions"].items()]
    from mtharness.compare.runs import system_names

    system_keys = dict(zip(system_names(runs), keys, strict=True))
    return site.page(
        request,
        "compare.html",
        state=state,
        keys=keys,
        system_keys=system_keys,
        payload=payload,
        directions=directions,
        opts=opts,
    )


def runs_page(site: Site, request: Request) -> Response:
    from mtharness.serve.runspage import runs_context

    state = _state(request, ("run",))
    return site.page(request, "runs.html", state=state, **runs_context(site, state))


def segments_page(site: Site, request: Request) -> Response:
    from mtharness.serve.segpage import segments_context

    state = _state(request)
    return site.page(request, "segments.html", state=state, **segments_context(site, state))
