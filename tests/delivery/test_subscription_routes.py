"""``/v1/subscriptions``: the admin's CRUD, as API.md "Push delivery" describes it."""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.http.app import create_app
from infrastructure.settings import Settings
from tests.api.conftest import check_problem, problem_of
from tests.support.auth_clients import (
    IssuedTokens,
    auth_client,
    auth_settings,
    bearer,
    issued_tokens,
)

__all__ = ["auth_client", "auth_settings", "issued_tokens"]

HOOK = "http://127.0.0.1:9/hook"


@pytest.fixture
def created(client: TestClient) -> dict[str, Any]:
    response = client.post(
        "/v1/subscriptions",
        json={"url": HOOK, "types": ["shipment.created"], "description": "billing"},
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    assert response.headers["location"] == f"/v1/subscriptions/{body['id']}"
    return body


def test_a_new_subscription_is_active_at_the_head_with_a_secret_shown_once(
    client: TestClient, created: dict[str, Any]
) -> None:
    assert created["status"] == "active"
    assert created["position"] == 0 and created["lag"] == 0
    assert created["types"] == ["shipment.created"]
    assert created["secret"].startswith("whsec_")
    assert len(base64.b64decode(created["secret"].removeprefix("whsec_"))) == 32

    shown = client.get(f"/v1/subscriptions/{created['id']}").json()
    listed = client.get("/v1/subscriptions").json()["items"]

    assert "secret" not in shown
    assert listed == [shown]
    assert shown == {k: v for k, v in created.items() if k != "secret"}


def test_a_change_is_a_merge_patch_and_null_clears_the_description(
    client: TestClient, created: dict[str, Any]
) -> None:
    path = f"/v1/subscriptions/{created['id']}"
    merge = {"Content-Type": "application/merge-patch+json"}

    changed = client.patch(path, content=b'{"description": null, "types": []}', headers=merge)

    assert changed.status_code == 200, changed.text
    assert changed.json()["description"] is None
    assert changed.json()["types"] == []
    assert changed.json()["url"] == HOOK
    stopped = client.patch(path, json={"status": "disabled", "position": 0}).json()
    assert stopped["status"] == "disabled"


def test_deleting_forgets_the_subscription(client: TestClient, created: dict[str, Any]) -> None:
    path = f"/v1/subscriptions/{created['id']}"

    assert client.delete(path).status_code == 204
    problem_of(client.get(path), 404)
    problem_of(client.delete(path), 404)


def test_unknown_ids_are_404_on_every_route(client: TestClient) -> None:
    for path in (
        "/v1/subscriptions/nope",
        "/v1/subscriptions/0b6f3a8e-5c1d-4f2a-9a57-3c1e2d4b6f70",
    ):
        problem_of(client.get(path), 404)
        problem_of(client.patch(path, json={"status": "active"}), 404)
        problem_of(client.post(f"{path}/rotate-secret"), 404)
        problem_of(client.get(f"{path}/deliveries"), 404)


def test_rotating_gives_a_new_secret_that_is_never_shown_again(
    client: TestClient, created: dict[str, Any]
) -> None:
    rotated = client.post(f"/v1/subscriptions/{created['id']}/rotate-secret")

    assert rotated.status_code == 200
    assert rotated.json()["secret"] not in (created["secret"], None)
    assert "secret" not in client.get(f"/v1/subscriptions/{created['id']}").json()


def test_bodies_are_checked_like_every_body_of_the_api(client: TestClient) -> None:
    problem_of(client.post("/v1/subscriptions", content=b"{", headers=_json()), 400)
    problem_of(client.post("/v1/subscriptions", content=b"url=x", headers=_form()), 415)
    unknown = problem_of(client.post("/v1/subscriptions", json={"url": HOOK, "secret": "x"}), 422)
    assert unknown["errors"] == [{"field": "secret", "reason": "unknown field"}]
    problem_of(client.post("/v1/subscriptions", json={"url": HOOK, "types": ["nope"]}), 422)


def test_secrets_never_reach_the_logs(
    client: TestClient, created: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        rotated = client.post(f"/v1/subscriptions/{created['id']}/rotate-secret").json()
        client.get("/v1/subscriptions")

    assert created["secret"] not in caplog.text
    assert rotated["secret"] not in caplog.text


def test_only_an_admin_may_see_or_change_subscriptions(
    auth_client: TestClient, issued_tokens: IssuedTokens
) -> None:
    for token in (issued_tokens.reader, issued_tokens.writer):
        problem_of(auth_client.get("/v1/subscriptions", headers=bearer(token)), 403)
        refused = auth_client.post("/v1/subscriptions", json={"url": HOOK}, headers=bearer(token))
        problem_of(refused, 403)
    problem_of(auth_client.get("/v1/subscriptions"), 401)

    made = auth_client.post(
        "/v1/subscriptions", json={"url": HOOK}, headers=bearer(issued_tokens.admin)
    )
    assert made.status_code == 201, made.text


@pytest.fixture
def guarded_client(settings: Settings) -> Iterator[TestClient]:
    """The app as deployed: private addresses refused."""
    guarded = settings.model_copy(update={"webhook_allow_private": False})
    with TestClient(create_app(guarded), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hook",
        "http://localhost/hook",
        "https://10.1.2.3/hook",
        "http://192.168.0.1/",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "nats://127.0.0.1:4222/shipments",
        "ftp://example.com/file",
        "file:///etc/passwd",
        "gopher://example.com/",
        "http://user:pw@example.com/",
        "nats://example.com:4222/",
    ],
)
def test_urls_that_would_make_the_service_an_ssrf_proxy_are_422(
    guarded_client: TestClient, url: str
) -> None:
    refused = guarded_client.post("/v1/subscriptions", json={"url": url})

    problem = problem_of(refused, 422)
    assert [error["field"] for error in problem["errors"]] == ["url"]
    check_problem(refused)


def test_a_change_to_a_private_url_is_refused_too(guarded_client: TestClient) -> None:
    made = guarded_client.post("/v1/subscriptions", json={"url": "http://93.184.215.14/hook"})
    assert made.status_code == 201, made.text

    path = f"/v1/subscriptions/{made.json()['id']}"
    problem_of(guarded_client.patch(path, json={"url": "http://127.0.0.1/hook"}), 422)
    assert guarded_client.get(path).json()["url"] == "http://93.184.215.14/hook"


def _json() -> dict[str, str]:
    return {"Content-Type": "application/json"}


def _form() -> dict[str, str]:
    return {"Content-Type": "application/x-www-form-urlencoded"}
