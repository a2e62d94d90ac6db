"""FastAPI dependencies: the wired services and the caller's identity."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials

from api.auth import Authenticator, bearer_scheme
from api.principals import Principal, Role
from api.wiring import Services


def services(request: Request) -> Services:
    """The process's services, built once by the app factory."""
    built: Services = request.app.state.services
    return built


def request_id(request: Request) -> str:
    """The id set by ``RequestIdMiddleware`` for this request."""
    return str(request.scope.get("state", {}).get("request_id", ""))


BearerCredentials = Annotated[HTTPAuthorizationCredentials | None, Security(bearer_scheme)]


def _caller(
    request: Request, credentials: HTTPAuthorizationCredentials | None, needed: Role
) -> Principal:
    """The authenticated caller if its role allows ``needed`` (401/403 otherwise).

    The subject is put in the request state, where the access log finds it.
    """
    authenticator: Authenticator = request.app.state.authenticator
    principal = authenticator.authorize(authenticator.authenticate(credentials), needed)
    request.state.actor = principal.subject
    return principal


def reader(request: Request, credentials: BearerCredentials) -> Principal:
    """The caller, allowed to read (GET, HEAD)."""
    return _caller(request, credentials, Role.READER)


def writer(request: Request, credentials: BearerCredentials) -> Principal:
    """The caller, allowed to write (POST, PUT, PATCH)."""
    return _caller(request, credentials, Role.WRITER)


def admin(request: Request, credentials: BearerCredentials) -> Principal:
    """The caller, allowed to operate the service (metrics, admin routes)."""
    return _caller(request, credentials, Role.ADMIN)


ServicesDep = Annotated[Services, Depends(services)]
ReaderDep = Annotated[Principal, Depends(reader)]
WriterDep = Annotated[Principal, Depends(writer)]
AdminDep = Annotated[Principal, Depends(admin)]
RequestIdDep = Annotated[str, Depends(request_id)]
