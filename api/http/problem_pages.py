"""``GET /problems/{name}``: a short page for each problem type the service emits.

RFC 9457 §3.1.1: a problem's ``type`` URI, when dereferenced, should give
human-readable documentation of it. Each page says what happened and what to
do about it; an unknown name is a 404. The pages are for people, so they are
left out of the OpenAPI document.
"""

from __future__ import annotations

from html import escape

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from api.http.problem_types import PROBLEM_TYPES, ProblemType
from api.http.problems import HttpProblem

__all__ = ["PROBLEM_TYPES", "router"]


router = APIRouter(prefix="/problems")


@router.api_route("", methods=["GET", "HEAD"], include_in_schema=False)
def problem_index() -> HTMLResponse:
    """Every problem type, each linked to its page: what a client may meet, in one place."""
    items = "".join(
        f'<li><a href="/problems/{escape(name)}"><code>/problems/{escape(name)}</code></a> '
        f"({problem.status}): {escape(problem.title)}</li>\n"
        for name, problem in sorted(PROBLEM_TYPES.items(), key=lambda kv: (kv[1].status, kv[0]))
    )
    return HTMLResponse(
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        "<title>Problem types</title></head><body>\n"
        "<h1>Problem types</h1>\n"
        "<p>Every error answer is <code>application/problem+json</code> (RFC 9457). Its "
        "<code>type</code> is <code>about:blank</code> when the status says it all, or one "
        "of these:</p>\n"
        f"<ul>\n{items}</ul>\n</body></html>\n"
    )


@router.api_route("/{name}", methods=["GET", "HEAD"], include_in_schema=False)
def problem_page(name: str) -> HTMLResponse:
    """The page documenting ``/problems/{name}``."""
    problem = PROBLEM_TYPES.get(name)
    if problem is None:
        raise HttpProblem(404, "no such problem type")
    return HTMLResponse(_page(name, problem))


def _page(name: str, problem: ProblemType) -> str:
    title = escape(problem.title)
    return (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f"<title>{title}</title></head><body>\n"
        f"<h1>{title}</h1>\n"
        f"<p>Problem type <code>/problems/{escape(name)}</code>, "
        f"answered with HTTP status {problem.status}.</p>\n"
        f"<h2>What happened</h2>\n<p>{escape(problem.happened)}</p>\n"
        f"<h2>What to do</h2>\n<p>{escape(problem.to_do)}</p>\n"
        "</body></html>\n"
    )
