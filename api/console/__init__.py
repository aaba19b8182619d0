"""The web console: a built single-page app (``console/`` at the repository root builds it into
``static/``; the bundle is committed, so installing Stepline needs no JavaScript tooling).

It is served without the bearer token (it holds no data: the page asks for the token and sends it
to ``/v1`` like any other client), at ``/console``; ``GET /`` redirects there.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, RedirectResponse
from starlette.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"

HEADERS = {
    # Only its own scripts; CodeMirror injects its styles as <style> elements.
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def is_console_path(method: str, path: str) -> bool:
    """Whether the request is for the console's page or assets (served without a token)."""
    return method in ("GET", "HEAD") and (path in ("/", "/console") or path.startswith("/console/"))


async def _page() -> FileResponse:
    return FileResponse(STATIC / "index.html", media_type="text/html", headers=HEADERS)


async def _root() -> RedirectResponse:
    return RedirectResponse("/console", status_code=307)


def mount_console(app: FastAPI) -> None:
    """``/console`` (the page; the app routes with the URL's fragment), its assets, ``/`` -> ``/console``."""
    app.add_api_route("/", _root, methods=["GET"], include_in_schema=False)
    app.add_api_route("/console", _page, methods=["GET"], include_in_schema=False)
    app.add_api_route("/console/", _page, methods=["GET"], include_in_schema=False)
    app.mount("/console/static", StaticFiles(directory=STATIC, check_dir=False), name="console-static")
