"""Liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.http.dependencies import ServicesDep
from api.http.openapi_docs import problem
from api.http.schemas import Health
from api.wiring import Services
from projections.lag import projection_status

router = APIRouter(tags=["operations"])


@router.get(
    "/healthz",
    operation_id="getHealth",
    summary="Liveness: the process answers",
    response_model=Health,
    responses={500: problem("Unexpected error")},
)
def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    operation_id="getReadiness",
    summary="Readiness: the store answers and the views are caught up",
    response_model=Health,
    responses={
        503: {"description": "Not ready", "model": Health},
        500: problem("Unexpected error"),
    },
)
def readyz(svc: ServicesDep) -> JSONResponse:
    checks: dict[str, str] = {}
    try:
        svc.store.recorder.max_notification_id()
        checks["store"] = "ok"
    except Exception:  # noqa: BLE001 - any failure to answer means "not ready"
        checks["store"] = "unreachable"
    if checks["store"] == "ok":
        checks["projections"] = _projections_check(svc)
    ready = all(value == "ok" for value in checks.values())
    return JSONResponse(
        Health(status="ready" if ready else "not ready", checks=checks).model_dump(),
        status_code=200 if ready else 503,
    )


def _projections_check(svc: Services) -> str:
    """The projections check: ok, or how far a view lags once its oldest unapplied event
    is older than the threshold."""
    try:
        status = projection_status(svc.store, svc.view)
    except Exception:  # noqa: BLE001 - any failure to answer means "not ready"
        return "unreachable"
    if status.lag_seconds > svc.settings.readiness_max_projection_lag_seconds:
        return (
            f"{status.view} lags {status.lag_events} event(s), "
            f"{status.lag_seconds:.1f}s behind the store"
        )
    return "ok"
