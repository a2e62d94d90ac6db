"""Cross-origin access for browser apps (off unless ``SHIPMENTS_CORS_ORIGINS`` names origins).

A browser app on another origin needs answers to its preflights and, to do a
conditional write, to read the ``ETag`` it must send back in ``If-Match``:
``ETag`` is not a CORS-safelisted response header, so it is exposed here. The
layer wraps the request pipeline (``api.http.app``), so every answer carries the
same CORS headers whichever door it took, problems included.
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response

from api.http.problems import HttpProblem, problem_response
from infrastructure.settings import Settings

CORS_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH")
CORS_REQUEST_HEADERS = (
    "Authorization",
    "Content-Type",
    "If-Match",
    "If-None-Match",
    "Idempotency-Key",
    "Prefer",
    "X-Request-ID",
)
CORS_EXPOSED_HEADERS = ("ETag", "Location", "X-Request-ID", "Preference-Applied")
PREFLIGHT_MAX_AGE_SECONDS = 600


def cross_origin_options(settings: Settings) -> dict[str, Any]:
    """Starlette's ``CORSMiddleware`` options for the configured origins."""
    return {
        "allow_origins": settings.cors_origins,
        "allow_methods": CORS_METHODS,
        "allow_headers": CORS_REQUEST_HEADERS,
        "expose_headers": CORS_EXPOSED_HEADERS,
        # Tokens travel in Authorization, set by the app's code: no cookies, so no
        # credentialed requests (and "*" stays usable as an origin).
        "allow_credentials": False,
        "max_age": PREFLIGHT_MAX_AGE_SECONDS,
    }


class CrossOrigin(CORSMiddleware):
    """Starlette's CORS, with a refused preflight answered as problem+json like any 4xx."""

    def preflight_response(self, request_headers: Headers) -> Response:
        answer = super().preflight_response(request_headers)
        if answer.status_code < 400:
            return answer
        reasons = bytes(answer.body).decode().removeprefix("Disallowed CORS ")
        problem = HttpProblem(
            answer.status_code,
            f"this cross-origin request is not allowed: its {reasons} "
            "(SHIPMENTS_CORS_ORIGINS names the origins, and the methods and headers are fixed)",
            headers={k: v for k, v in answer.headers.items() if k.lower().startswith("access-")},
        )
        return problem_response(problem)
