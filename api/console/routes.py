"""``/ui/``: the console's single-page app, its static files, and who the caller is.

None of these routes is part of the API contract, so all are left out of
``/openapi.json``. The page itself carries no data: it asks ``/v1`` for
everything, with the caller's bearer token, exactly as any client would.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response

from api.console.sign_in import page_security_policy, sign_in_options
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
# The page runs only its own scripts and talks only to its own origin (and, to
# trade a sign-in code for a token, to the identity provider's token endpoint).
_PAGE_HEADERS = {
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
}

router = APIRouter(prefix="/ui", include_in_schema=False)


@router.get("")
async def console_root() -> Response:
    """``/ui`` → ``/ui/`` (the page's relative links assume the slash)."""
    return RedirectResponse("/ui/", status_code=308)


@router.get("/")
async def console_list(request: Request) -> Response:
    """The list view (the app routes on the client); also where a sign-in comes back to."""
    return _page(request)


@router.get("/shipments/{shipment_id}")
async def console_shipment(request: Request, shipment_id: str) -> Response:
    """One shipment's page: the same app, which reads the id from its URL."""
    return _page(request)


@router.get("/subscriptions")
async def console_subscriptions(request: Request) -> Response:
    """The subscriptions page (admin): the same app, which reads the page from its URL."""
    return _page(request)


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


@router.get("/sign-in")
async def console_sign_in(request: Request) -> Response:
    """Where the page may send its user to sign in (``{"signIn": null}``: nowhere).

    Needs no token: it is what a caller without one is offered.
    """
    return JSONResponse(
        {"signIn": await sign_in_options(request.app.state)},
        headers={"Cache-Control": "no-store"},
    )


def _page(request: Request) -> Response:
    headers = {**_PAGE_HEADERS, "Content-Security-Policy": page_security_policy(request.app.state)}
    return FileResponse(
        STATIC_DIR / "index.html", media_type=_MEDIA_TYPES[".html"], headers=headers
    )
