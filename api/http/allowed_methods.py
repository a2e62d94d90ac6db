"""``405 Method Not Allowed`` with an ``Allow`` header naming every method the resource has.

Starlette answers 405 from the first route whose path matches, so its ``Allow``
names that route's methods only (``GET`` for a shipment, which also has HEAD,
PUT and PATCH). RFC 9110 §15.5.6 wants all of them: they are found here by asking
the app's routes which methods they take on that path, so the header follows the
routes (no table to keep in step).
"""

from __future__ import annotations

from collections.abc import Iterable

from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.routing import BaseRoute, Match

from api.http.problems import HttpProblem, problem_response

# Every method of RFC 9110 and PATCH (RFC 5789), in the order ``Allow`` lists them.
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT")


def allowed_methods(routes: Iterable[BaseRoute], request: Request) -> list[str]:
    """Every method that some route fully matches on the request's path.

    Asks each route, as the router itself would, through ``BaseRoute.matches``:
    that also sees into included routers, whatever shape the framework gives them.
    """
    candidates = list(routes)
    allowed = []
    for method in METHODS:
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] is Match.FULL for route in candidates):
            allowed.append(method)
    return allowed


def install_allow_header(app: FastAPI) -> None:
    """Answer every 405 as a problem whose ``Allow`` lists all the resource's methods."""

    async def method_not_allowed(request: Request, error: Exception) -> Response:
        allow = ", ".join(allowed_methods(app.routes, request))
        problem = HttpProblem(
            405,
            f"{request.method} is not allowed here; this resource allows {allow}",
            headers={"Allow": allow},
        )
        return problem_response(problem, request.url.path)

    app.add_exception_handler(405, method_not_allowed)
