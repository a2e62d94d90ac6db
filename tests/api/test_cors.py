"""Browser apps on other origins: CORS, off by default, on for ``SHIPMENTS_CORS_ORIGINS``.

A cross-origin app must get its preflights answered and must be able to read the
``ETag`` it sends back in ``If-Match`` — also on the answers given
at the doors in front of the router (``api.edge``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from starlette.routing import Router

from api.http.app import create_app
from infrastructure.settings import Settings
from tests.api.conftest import MERGE_PATCH, quoted, url

ORIGIN = "https://app.example"
OTHER_ORIGIN = "https://elsewhere.example"


@pytest.fixture
def cors_client(settings: Settings) -> Iterator[TestClient]:
    """The app with one browser origin allowed."""
    configured = settings.model_copy(update={"cors_origins": [ORIGIN]})
    with TestClient(create_app(configured), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def framework_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The requests that reached FastAPI's router (the doors answer in front of it)."""
    calls: list[str] = []
    original = Router.__call__

    async def counted(self: Router, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            calls.append(f"{scope['method']} {scope['path']}")
        await original(self, scope, receive, send)

    monkeypatch.setattr(Router, "__call__", counted)
    return calls


def created(client: TestClient) -> dict[str, Any]:
    response = client.post(
        "/v1/shipments", json={"shipmentType": "HHG"}, headers={"Origin": ORIGIN}
    )
    assert response.status_code == 201, response.text
    document: dict[str, Any] = response.json()
    return document


def exposed(response: httpx.Response) -> set[str]:
    header = response.headers.get("Access-Control-Expose-Headers", "")
    return {name.strip().lower() for name in header.split(",") if name.strip()}


def assert_readable_cross_origin(response: httpx.Response) -> None:
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert {"etag", "location", "x-request-id", "preference-applied"} <= exposed(response)


def test_without_configured_origins_no_answer_carries_cors_headers(
    client: TestClient, shipment: dict[str, Any]
) -> None:
    answers = [
        client.get(url(shipment), headers={"Origin": ORIGIN}),
        client.get("/v1/shipments", headers={"Origin": ORIGIN}),
        client.options(
            url(shipment),
            headers={"Origin": ORIGIN, "Access-Control-Request-Method": "PATCH"},
        ),
    ]
    for answer in answers:
        assert not any(name.lower().startswith("access-control-") for name in answer.headers)
    assert answers[2].status_code == 405


def test_the_origins_setting_takes_a_comma_separated_or_a_json_list(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SHIPMENTS_CORS_ORIGINS", f"{ORIGIN}, {OTHER_ORIGIN}/")
    assert Settings().cors_origins == [ORIGIN, OTHER_ORIGIN]
    monkeypatch.setenv("SHIPMENTS_CORS_ORIGINS", f'["{ORIGIN}"]')
    assert Settings().cors_origins == [ORIGIN]
    monkeypatch.delenv("SHIPMENTS_CORS_ORIGINS")
    assert Settings().cors_origins == []


@pytest.mark.parametrize("method", ["PUT", "PATCH", "POST", "GET", "HEAD"])
def test_a_preflight_for_a_conditional_write_is_answered(
    cors_client: TestClient, method: str
) -> None:
    response = cors_client.options(
        "/v1/shipments/0b6f3a8e-5c1d-4f2a-9a57-3c1e2d4b6f70",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "authorization, content-type, if-match, "
            "if-none-match, idempotency-key, prefer, x-request-id",
        },
    )
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert method in response.headers["Access-Control-Allow-Methods"]
    allowed = {
        h.strip().lower() for h in response.headers["Access-Control-Allow-Headers"].split(",")
    }
    assert {
        "authorization",
        "content-type",
        "if-match",
        "if-none-match",
        "idempotency-key",
        "prefer",
        "x-request-id",
    } <= allowed


def test_a_preflight_from_another_origin_or_for_delete_is_refused(
    cors_client: TestClient,
) -> None:
    other = cors_client.options(
        "/v1/shipments",
        headers={"Origin": OTHER_ORIGIN, "Access-Control-Request-Method": "POST"},
    )
    assert other.status_code == 400
    assert "Access-Control-Allow-Origin" not in other.headers
    delete = cors_client.options(
        "/v1/shipments",
        headers={"Origin": ORIGIN, "Access-Control-Request-Method": "DELETE"},
    )
    assert delete.status_code == 400


def test_reads_and_writes_at_the_doors_carry_the_cors_headers(
    cors_client: TestClient, framework_calls: list[str]
) -> None:
    shipment = created(cors_client)
    framework_calls.clear()
    read = cors_client.get(url(shipment), headers={"Origin": ORIGIN})
    assert read.status_code == 200
    assert_readable_cross_origin(read)
    write = cors_client.patch(
        url(shipment),
        content=b'{"weightLbs": 1200}',
        headers={"Origin": ORIGIN, "If-Match": read.headers["ETag"], "Content-Type": MERGE_PATCH},
    )
    assert write.status_code == 200, write.text
    assert_readable_cross_origin(write)
    assert write.headers["ETag"] == quoted(write.json())
    assert framework_calls == [], "these answers were meant to come from the doors"


def test_answers_of_the_full_app_carry_the_cors_headers_errors_included(
    cors_client: TestClient, framework_calls: list[str]
) -> None:
    shipment = created(cors_client)
    answers = {
        "create": cors_client.post(
            "/v1/shipments", json={"shipmentType": "HHG"}, headers={"Origin": ORIGIN}
        ),
        "list": cors_client.get("/v1/shipments", headers={"Origin": ORIGIN}),
        "as of": cors_client.get(
            url(shipment) + "?asOf=2999-01-01T00:00:00Z", headers={"Origin": ORIGIN}
        ),
        "put": cors_client.put(
            url(shipment),
            json={"shipmentType": "NTS"},
            headers={"Origin": ORIGIN, "If-Match": quoted(shipment)},
        ),
        "stale": cors_client.put(
            url(shipment),
            json={"shipmentType": "UPS"},
            headers={"Origin": ORIGIN, "If-Match": quoted(shipment)},
        ),
        "no If-Match": cors_client.patch(
            url(shipment), json={"weightLbs": 1}, headers={"Origin": ORIGIN}
        ),
    }
    statuses = {name: answer.status_code for name, answer in answers.items()}
    assert statuses == {
        "create": 201,
        "list": 200,
        "as of": 200,
        "put": 200,
        "stale": 412,
        "no If-Match": 428,
    }
    for answer in answers.values():
        assert_readable_cross_origin(answer)
    assert framework_calls, "these answers were meant to come from the full app"


def test_a_request_from_an_origin_not_configured_gets_no_cors_headers(
    cors_client: TestClient,
) -> None:
    shipment = created(cors_client)
    response = cors_client.get(url(shipment), headers={"Origin": OTHER_ORIGIN})
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response.headers
