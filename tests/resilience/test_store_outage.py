"""A PostgreSQL outage is a fast 503, and the service heals by itself when it ends.

The service reaches PostgreSQL through a TCP proxy that the test cuts (every
connection dropped, new ones refused) and restores; the shared server itself
is never touched. The bound on each answer's time is behavioural, with ample
slack: a request may wait about one store time-out, never many.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
from fastapi.testclient import TestClient

from api.cli.tokens import configured_token_store
from api.http.app import create_app
from infrastructure.settings import Settings
from tests.support.auth_clients import bearer
from tests.support.stores import postgres_schema_url
from tests.support.tcp_proxy import TcpProxy

STORE_TIMEOUT_SECONDS = 2.0
ANSWER_BOUND_SECONDS = 3 * STORE_TIMEOUT_SECONDS
RECOVERY_DEADLINE_SECONDS = 60.0
MERGE_PATCH = "application/merge-patch+json"

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture
def proxy() -> Iterator[TcpProxy]:
    """A proxy in front of the test PostgreSQL server."""
    from tests.support.stores import POSTGRES_ADMIN_URL

    target = urlsplit(POSTGRES_ADMIN_URL)
    with TcpProxy(target.hostname or "127.0.0.1", target.port or 5432) as running:
        yield running


@pytest.fixture
def client_via_proxy(proxy: TcpProxy) -> Iterator[TestClient]:
    """The app on a fresh schema, reaching PostgreSQL only through ``proxy``.

    Authentication is on, as in production: the token list is read from the
    store too, so its unavailability must not stretch the wait either.
    """
    with postgres_schema_url() as url:
        parts = urlsplit(url)
        netloc = f"{parts.username}@127.0.0.1:{proxy.port}"
        settings = Settings(
            database_url=urlunsplit(parts._replace(netloc=netloc)),
            store_timeout_seconds=STORE_TIMEOUT_SECONDS,
            token_cache_seconds=1.0,
        )
        with configured_token_store(settings) as tokens:
            token = tokens.add("outage-writer", "writer")
        with TestClient(
            create_app(settings), headers=bearer(token), raise_server_exceptions=False
        ) as client:
            yield client


def timed(call: Callable[[], httpx.Response]) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def test_with_the_store_unreachable_every_request_is_a_prompt_503_and_readiness_fails(
    client_via_proxy: TestClient, proxy: TcpProxy, new_shipment: dict[str, Any]
) -> None:
    client = client_via_proxy
    created = client.post("/v1/shipments", json=new_shipment)
    assert created.status_code == 201, created.text
    item = created.headers["Location"]
    write_headers = {"If-Match": created.headers["ETag"], "Content-Type": MERGE_PATCH}

    proxy.cut()
    requests: dict[str, Callable[[], httpx.Response]] = {
        "read": lambda: client.get(item),
        "list": lambda: client.get("/v1/shipments"),
        "history": lambda: client.get(f"{item}/history"),
        "version": lambda: client.get(f"{item}/versions/1"),
        "feed": lambda: client.get("/v1/events"),
        "create": lambda: client.post("/v1/shipments", json=new_shipment),
        "patch": lambda: client.patch(item, content=b'{"weightLbs": 7}', headers=write_headers),
    }
    for name, request in requests.items():
        response, seconds = timed(request)
        assert response.status_code == 503, (name, response.status_code, response.text)
        assert response.headers["content-type"].startswith("application/problem+json"), name
        assert response.json()["status"] == 503
        assert "Retry-After" in response.headers
        assert seconds < ANSWER_BOUND_SECONDS, (name, seconds)

    readiness, seconds = timed(lambda: client.get("/readyz"))
    assert readiness.status_code == 503
    assert readiness.json()["checks"]["store"] != "ok"
    assert seconds < ANSWER_BOUND_SECONDS
    assert client.get("/healthz").status_code == 200  # alive, only not ready


def test_the_service_recovers_by_itself_when_the_store_returns(
    client_via_proxy: TestClient, proxy: TcpProxy, new_shipment: dict[str, Any]
) -> None:
    client = client_via_proxy
    created = client.post("/v1/shipments", json=new_shipment)
    assert created.status_code == 201, created.text
    proxy.cut()
    assert client.get(created.headers["Location"]).status_code == 503

    proxy.restore()
    deadline = time.monotonic() + RECOVERY_DEADLINE_SECONDS
    while client.get("/readyz").status_code != 200:
        assert time.monotonic() < deadline, "the service did not recover"
        time.sleep(0.2)

    assert client.get(created.headers["Location"]).json() == created.json()
    patched = client.patch(
        created.headers["Location"],
        content=b'{"weightLbs": 7}',
        headers={"If-Match": created.headers["ETag"], "Content-Type": MERGE_PATCH},
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["version"] == 2
    assert client.post("/v1/shipments", json=new_shipment).status_code == 201
