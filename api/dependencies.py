"""FastAPI dependencies: the wired services and the caller's identity."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from api.principals import ANONYMOUS, Principal
from api.wiring import Services


def services(request: Request) -> Services:
    """The process's services, built once by the app factory."""
    built: Services = request.app.state.services
    return built


def request_id(request: Request) -> str:
    """The id set by ``RequestIdMiddleware`` for this request."""
    return str(request.scope.get("state", {}).get("request_id", ""))


def reader(request: Request) -> Principal:
    """The caller, allowed to read."""
    return ANONYMOUS


def writer(request: Request) -> Principal:
    """The caller, allowed to write."""
    return ANONYMOUS


ServicesDep = Annotated[Services, Depends(services)]
ReaderDep = Annotated[Principal, Depends(reader)]
WriterDep = Annotated[Principal, Depends(writer)]
RequestIdDep = Annotated[str, Depends(request_id)]
