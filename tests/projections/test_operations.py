"""What an operator sees: /readyz while a view lags, /metrics, ``projections status``, serve."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from api.cli import main
from api.http.app import create_app
from api.wiring import Services
from infrastructure.settings import Settings
from projections.leadership import leadership_for
from projections.runner import runner_for
from tests.projections.conftest import (
    BOUNDED_WAIT_SECONDS,
    create_around_view,
    head,
    wait_until_caught_up,
)
from tests.support.servers import running_server
from tests.support.view_consistency import assert_view_caught_up, assert_view_matches_events


@pytest.fixture
def app_without_runner(runner_settings: Settings) -> Iterator[TestClient]:
    """The app with no runner of its own, and not ready as soon as a view lags at all."""
    settings = runner_settings.model_copy(update={"readiness_max_projection_lag_seconds": 0.0})
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


def metric(text: str, name: str, **labels: str) -> float:
    """The value of one sample in a Prometheus text exposition."""
    wanted = ",".join(f'{key}="{value}"' for key, value in labels.items())
    match = re.search(rf"^{name}\{{{re.escape(wanted)}\}} (\S+)$", text, re.MULTILINE)
    assert match, f"{name}{{{wanted}}} not in:\n{text}"
    return float(match.group(1))


def test_readyz_is_not_ready_while_a_view_lags_and_ready_once_caught_up(
    app_without_runner: TestClient, services: Services, runner_settings: Settings
) -> None:
    assert app_without_runner.get("/readyz").status_code == 200
    create_around_view(services, 1)

    lagging = app_without_runner.get("/readyz")
    assert lagging.status_code == 503
    assert "shipment_view lags 2 event(s)" in lagging.json()["checks"]["projections"]

    runner = runner_for(services.store, services.view, runner_settings).start()
    try:
        wait_until_caught_up(services)
    finally:
        runner.stop()
    ready = app_without_runner.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"]["projections"] == "ok"


def test_metrics_expose_the_lag_of_each_view_and_requests_by_route_and_status(
    app_without_runner: TestClient, services: Services, view_left_behind: None
) -> None:
    create_around_view(services, 1, revisions=2)
    app_without_runner.get("/v1/shipments")
    app_without_runner.get("/v1/shipments", params={"limit": "0"})

    response = app_without_runner.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert metric(text, "shipments_projection_lag_events", view="shipment_view") == 3
    assert metric(text, "shipments_projection_lag_seconds", view="shipment_view") > 0
    assert metric(text, "shipments_projection_head", view="shipment_view") == head(services)
    assert metric(text, "shipments_projection_runner_active", view="shipment_view") == 0
    ok = {"method": "GET", "route": "/v1/shipments", "status": "200"}
    refused = {**ok, "status": "422"}
    assert metric(text, "shipments_http_requests_total", **ok) == 1
    assert metric(text, "shipments_http_requests_total", **refused) == 1
    assert metric(text, "shipments_http_request_duration_seconds_count", **ok) == 1


def test_the_apps_own_runner_catches_up_and_reports_itself_active(
    settings: Settings, services: Services, database_url: str
) -> None:
    create_around_view(services, 1)
    with TestClient(create_app(settings)) as client:
        wait_until_caught_up(services)
        text = client.get("/metrics").text
        assert metric(text, "shipments_projection_lag_events", view="shipment_view") == 0
        assert metric(text, "shipments_projection_runner_active", view="shipment_view") == 1
        # One lag observation per batch the runner committed: at least one, at most one
        # per event.
        batches = metric(text, "shipments_projection_event_lag_seconds_count", view="shipment_view")
        assert 1 <= batches <= head(services)
    assert_view_matches_events(database_url)


def test_projections_status_prints_position_head_and_lag(
    view_left_behind: None,
    services: Services,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    create_around_view(services, 1)
    monkeypatch.setenv("SHIPMENTS_DATABASE_URL", database_url)
    assert main(["projections", "status"]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if "shipment_view" in line)
    assert re.search(r"shipment_view\W+0\W+2\W+2\W+\d+\.\d{3}", row), row


@pytest.mark.slow
def test_a_server_with_two_workers_runs_the_view_once_and_keeps_it_caught_up(
    services: Services, database_url: str, tmp_path: Path
) -> None:
    with running_server(database_url, tmp_path, workers=2) as server:
        for number in range(5):
            create_around_view(services, number)
        wait_until_caught_up(services)
        created = httpx.post(
            f"{server.base_url}/v1/shipments",
            json={"shipmentType": "PPM"},
            timeout=BOUNDED_WAIT_SECONDS,
        )
        assert created.status_code == 201, created.text
        wait_until_caught_up(services)
        probe = leadership_for(services.store, services.view.tracking_name)
        assert not probe.try_acquire(), "one of the workers must hold the view's lock"
        probe.close()
    assert_view_caught_up(database_url)
    assert_view_matches_events(database_url)
