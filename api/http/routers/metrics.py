"""``GET /metrics``: Prometheus text (requests by route and status, projection lag)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST

from api.http.dependencies import AdminDep
from api.http.openapi_docs import COMMON_PROBLEMS
from api.plumbing.request_metrics import ServiceMetrics

router = APIRouter(tags=["operations"])


@router.get(
    "/metrics",
    operation_id="getMetrics",
    summary="Prometheus metrics (admin)",
    response_model=None,
    responses={
        200: {
            "description": "Prometheus text exposition format",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        },
        **COMMON_PROBLEMS,
    },
)
def metrics(request: Request, principal: AdminDep) -> Response:
    service_metrics: ServiceMetrics = request.app.state.metrics
    return Response(content=service_metrics.render(), media_type=CONTENT_TYPE_LATEST)
