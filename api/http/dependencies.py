"""FastAPI dependencies: the wired services and the caller's identity."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials

from api.plumbing.auth import bearer_scheme
from api.plumbing.pipeline import caller_of, request_id_of
from api.plumbing.principals import Principal, Role
from api.wiring import Services

# Every dependency here is ``async`` on purpose: FastAPI runs a plain ``def``
# dependency in the thread pool, and three thread hops per request cost more
# than the whole read of a GET. None of them blocks (``authenticate_async`` leaves
# the event loop only for what would).


async def services(request: Request) -> Services:
    """The process's services, built once by the app factory."""
    built: Services = request.app.state.services
    return built


async def request_id(request: Request) -> str:
    """The id the request pipeline chose for this request."""
    return request_id_of(request.scope)


# Declared so that /openapi.json documents the scheme; the token itself is read
# and checked by the request pipeline's ``Caller``.
BearerCredentials = Annotated[HTTPAuthorizationCredentials | None, Security(bearer_scheme)]


async def reader(request: Request, credentials: BearerCredentials) -> Principal:
    """The caller, allowed to read (GET, HEAD)."""
    return await caller_of(request.scope).allowed(Role.READER)


async def writer(request: Request, credentials: BearerCredentials) -> Principal:
    """The caller, allowed to write (POST, PUT, PATCH)."""
    return await caller_of(request.scope).allowed(Role.WRITER)


async def admin(request: Request, credentials: BearerCredentials) -> Principal:
    """The caller, allowed to operate the service (metrics, admin routes)."""
    return await caller_of(request.scope).allowed(Role.ADMIN)


ServicesDep = Annotated[Services, Depends(services)]
ReaderDep = Annotated[Principal, Depends(reader)]
WriterDep = Annotated[Principal, Depends(writer)]
AdminDep = Annotated[Principal, Depends(admin)]
RequestIdDep = Annotated[str, Depends(request_id)]
