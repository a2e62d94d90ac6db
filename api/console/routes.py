"""``/ui/``: the console's single-page app, its static files, and who the caller is.

None of these routes is part of the API contract, so all are left out of
``/openapi.json``. The page itself carries no data: it asks ``/v1`` for
everything, with the caller's bearer token, exactly as any client would.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response

from api.http.dependencies import ReaderDep
from api.http.problems import HttpProblem

STATIC_DIR = Path(__file__).with_name("static")
_MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
    ".svg": "image/svg+xml",
}
# The files are known when the package is installed; nothing else can be asked for.
_ASSETS = {
    path.name: path
    for path in STATIC_DIR.iterdir()
    if path.is_file() and path.suffix in _MEDIA_TYPES and path.name != "index.html"
}
# The page runs only its own scripts and talks only to its own origin.
_PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
}

router = APIRouter(prefix="/ui", include_in_schema=False)


@router.get("")
async def console_root() -> Response:
    """``/ui`` → ``/ui/`` (the page's relative links assume the slash)."""
    return RedirectResponse("/ui/", status_code=308)


@router.get("/")
async def console_list() -> Response:
    """The list view (the app routes on the client)."""
    return _page()


@router.get("/shipments/{shipment_id}")
async def console_shipment(shipment_id: str) -> Response:
    """One shipment's page: the same app, which reads the id from its URL."""
    return _page()


@router.get("/subscriptions")
async def console_subscriptions() -> Response:
    """The subscriptions page (admin): the same app, which reads the page from its URL."""
    return _page()


@router.get("/static/{name}")
async def console_asset(name: str) -> Response:
    """A file of the app (scripts, style sheet)."""
    path = _ASSETS.get(name)
    if path is None:
        raise HttpProblem(404, "no such resource")
    return FileResponse(
        path, media_type=_MEDIA_TYPES[path.suffix], headers={"Cache-Control": "no-cache"}
    )


@router.get("/whoami")
async def console_whoami(principal: ReaderDep) -> Response:
    """The caller's subject and role, so the page shows editing only to writers.

    Answers 401 without a valid token, like every read of the API.
    """
    return JSONResponse(
        {"subject": principal.subject, "role": principal.role.value},
        headers={"Cache-Control": "no-store"},
    )


def _page() -> Response:
    return FileResponse(
        STATIC_DIR / "index.html", media_type=_MEDIA_TYPES[".html"], headers=_PAGE_HEADERS
    )
