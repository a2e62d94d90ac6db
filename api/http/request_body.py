"""Reading a request body with the 64 KiB limit enforced while it streams in."""

from __future__ import annotations

from fastapi import Request

from api.http.problems import HttpProblem


async def read_limited_body(request: Request, limit: int) -> bytes:
    """The body, or 413 as soon as it is known to exceed ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(limit: int) -> HttpProblem:
    return HttpProblem(413, f"the body exceeds the limit of {limit} bytes")
