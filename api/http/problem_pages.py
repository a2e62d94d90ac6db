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
