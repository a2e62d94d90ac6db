"""Where a newcomer starts: ``/`` (what is where), ``/docs`` (Swagger UI) and ``/redoc``,
working without the internet.

FastAPI's own pages load their scripts and styles from a CDN, so on a train, in
a locked-down network or behind a proxy that blocks it, ``/docs`` is a blank
page. Here the assets come from a Python package that ships them
(``fastapi-offline``: Swagger UI 5 and ReDoc), installed like any dependency and
served from this process; nothing is copied into this repository. The pages are
for people: they stay out of the OpenAPI document and need no token.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse

from api.http.problems import HttpProblem

ASSETS_PACKAGE = "fastapi_offline"
ASSETS_PATH = "/docs/assets"
_MEDIA_TYPES = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "redoc.standalone.js": "text/javascript",
    "favicon.png": "image/png",
}
TITLE = "Shipment service"
OAUTH2_REDIRECT = "/docs/oauth2-redirect"

# The pages may load nothing from elsewhere: ReDoc's bundle, for one, would fetch its
# own logo from its vendor's CDN. (Swagger UI's page starts it with an inline script;
# ReDoc searches in a worker it makes from a blob.)
OFFLINE_ONLY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self' 'unsafe-inline'; worker-src 'self' blob:; connect-src 'self'; "
    "font-src 'self' data:"
)

router = APIRouter(include_in_schema=False)


def _offline(page: HTMLResponse) -> HTMLResponse:
    page.headers["Content-Security-Policy"] = OFFLINE_ONLY
    return page


def assets_folder() -> Path:
    """Where the installed package keeps the Swagger UI and ReDoc files."""
    return Path(str(files(ASSETS_PACKAGE) / "static"))


@router.get("/")
def service_index() -> JSONResponse:
    """What is where, for whoever opens the server's address first (a 404 would not say)."""
    return JSONResponse(
        {
            "service": TITLE,
            "api": "/v1/shipments",
            "docs": "/docs",
            "redoc": "/redoc",
            "openapi": "/openapi.json",
            "console": "/ui/",
            "health": "/healthz",
            "problems": "/problems",
        },
        headers={"Cache-Control": "no-cache"},
    )


@router.get("/docs")
def swagger_ui() -> HTMLResponse:
    """Swagger UI on ``/openapi.json``, its assets served from here."""
    return _offline(
        get_swagger_ui_html(
            openapi_url="/openapi.json",
            title=f"{TITLE} — Swagger UI",
            swagger_js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_PATH}/favicon.png",
            oauth2_redirect_url=OAUTH2_REDIRECT,
            # No badge from the public validator: it would send the document elsewhere.
            swagger_ui_parameters={"validatorUrl": None},
        )
    )


@router.get(OAUTH2_REDIRECT)
def swagger_ui_redirect() -> HTMLResponse:
    """The page Swagger UI's OAuth2 flow returns to."""
    return get_swagger_ui_oauth2_redirect_html()


@router.get("/redoc")
def redoc() -> HTMLResponse:
    """ReDoc on ``/openapi.json``, its script served from here, no web fonts fetched."""
    return _offline(
        get_redoc_html(
            openapi_url="/openapi.json",
            title=f"{TITLE} — ReDoc",
            redoc_js_url=f"{ASSETS_PATH}/redoc.standalone.js",
            redoc_favicon_url=f"{ASSETS_PATH}/favicon.png",
            with_google_fonts=False,
        )
    )


@router.get(ASSETS_PATH + "/{name}")
def asset(name: str) -> FileResponse:
    """One of the known asset files (nothing else of the package is reachable)."""
    media_type = _MEDIA_TYPES.get(name)
    if media_type is None:
        raise HttpProblem(404, "no such resource")
    return FileResponse(
        assets_folder() / name,
        media_type=media_type,
        headers={"Cache-Control": "public, max-age=86400"},
    )
