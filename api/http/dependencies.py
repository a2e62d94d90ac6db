"""FastAPI dependencies: the wired services and the caller's identity."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials

from api.plumbing.auth import Authenticator, bearer_scheme
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
    """The id set by ``RequestIdMiddleware`` for this request."""
    return str(request.scope.get("state", {}).get("request_id", ""))


BearerCredentials = Annotated[HTTPAuthorizationCredentials | None, Security(bearer_scheme)]


async def _caller(
    request: Request, credentials: HTTPAuthorizationCredentials | None, needed: Role
) -> Principal:
    """The authenticated caller if its role allows ``needed`` (401/403 otherwise).

    The subject is put in the request state, where the access log finds it.
    """
    authenticator: Authenticator = request.app.state.authenticator
    caller = await authenticator.authenticate_async(credentials)
    principal = authenticator.authorize(caller, needed)
    request.state.actor = principal.subject
    return principal


async def reader(request: Request, credentials: BearerCredentials) -> Principal:
    """The caller, allowed to read (GET, HEAD)."""
    return await _caller(request, credentials, Role.READER)


async def writer(request: Request, credentials: BearerCredentials) -> Principal:
    """The caller, allowed to write (POST, PUT, PATCH)."""
    return await _caller(request, credentials, Role.WRITER)


async def admin(request: Request, credentials: BearerCredentials) -> Principal:
    """The caller, allowed to operate the service (metrics, admin routes)."""
    return await _caller(request, credentials, Role.ADMIN)


ServicesDep = Annotated[Services, Depends(services)]
ReaderDep = Annotated[Principal, Depends(reader)]
WriterDep = Annotated[Principal, Depends(writer)]
AdminDep = Annotated[Principal, Depends(admin)]
RequestIdDep = Annotated[str, Depends(request_id)]
