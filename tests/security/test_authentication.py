"""Who may do what (API.md): bearer tokens, roles, and the actor of each event."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.http.app import create_app
from api.http.dependencies import AdminDep
from infrastructure.settings import Settings
from tests.support.auth_clients import IssuedTokens, bearer

SHIPMENTS = "/v1/shipments"
MERGE_PATCH = "application/merge-patch+json"


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem: dict[str, Any] = response.json()
    assert problem["status"] == status
    return problem


def create(client: TestClient, token: str, body: dict[str, Any]) -> httpx.Response:
    created = client.post(SHIPMENTS, json=body, headers=bearer(token))
    assert created.status_code == 201, created.text
    return created


def test_a_request_without_a_token_gets_401_asking_for_a_bearer_token(
    auth_client: TestClient, new_shipment: dict[str, Any]
) -> None:
    for response in (
        auth_client.get(f"{SHIPMENTS}/{UUID(int=1)}"),
        auth_client.post(SHIPMENTS, json=new_shipment),
    ):
        assert_problem(response, 401)
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_an_unknown_token_gets_401_naming_it_invalid(auth_client: TestClient) -> None:
    response = auth_client.get(f"{SHIPMENTS}/{UUID(int=1)}", headers=bearer("shp_not-a-token"))
    assert_problem(response, 401)
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_credentials_of_another_scheme_get_401(
    auth_client: TestClient, issued_tokens: IssuedTokens
) -> None:
    response = auth_client.get(
        f"{SHIPMENTS}/{UUID(int=1)}", headers={"Authorization": f"Basic {issued_tokens.admin}"}
    )
    assert_problem(response, 401)


def test_a_reader_may_read_but_any_write_is_403(
    auth_client: TestClient, issued_tokens: IssuedTokens, new_shipment: dict[str, Any]
) -> None:
    created = create(auth_client, issued_tokens.writer, new_shipment)
    location, etag = created.headers["Location"], created.headers["ETag"]
    reader = bearer(issued_tokens.reader)

    assert auth_client.get(location, headers=reader).status_code == 200
    assert auth_client.head(location, headers=reader).status_code == 200
    assert_problem(auth_client.post(SHIPMENTS, json=new_shipment, headers=reader), 403)
    assert_problem(
        auth_client.put(location, json=new_shipment, headers={**reader, "If-Match": etag}), 403
    )
    assert_problem(
        auth_client.patch(
            location,
            content=b'{"weightLbs": 10}',
            headers={**reader, "If-Match": etag, "Content-Type": MERGE_PATCH},
        ),
        403,
    )
    assert auth_client.get(location, headers=reader).json()["version"] == 1


def test_a_writer_and_an_admin_may_read_and_write(
    auth_client: TestClient, issued_tokens: IssuedTokens, new_shipment: dict[str, Any]
) -> None:
    for token in (issued_tokens.writer, issued_tokens.admin):
        created = create(auth_client, token, new_shipment)
        patched = auth_client.patch(
            created.headers["Location"],
            content=b'{"weightLbs": 10}',
            headers={
                **bearer(token),
                "If-Match": created.headers["ETag"],
                "Content-Type": MERGE_PATCH,
            },
        )
        assert patched.status_code == 200, patched.text
        assert patched.json()["weightLbs"] == 10


def test_the_token_subject_is_the_actor_of_every_event_it_causes(
    auth_client: TestClient, issued_tokens: IssuedTokens, new_shipment: dict[str, Any]
) -> None:
    created = create(auth_client, issued_tokens.writer, new_shipment)
    patched = auth_client.patch(
        created.headers["Location"],
        content=b'{"status": "SUBMITTED"}',
        headers={
            **bearer(issued_tokens.admin),
            "If-Match": created.headers["ETag"],
            "Content-Type": MERGE_PATCH,
        },
    )
    assert patched.status_code == 200, patched.text

    store = auth_client.app.state.services.store  # type: ignore[attr-defined]
    events = list(store.events.get(UUID(created.json()["id"])))
    assert [event.actor for event in events] == ["writer-1", "admin-1"]


def test_a_revoked_token_is_refused(
    auth_client: TestClient, issued_tokens: IssuedTokens, auth_settings: Settings
) -> None:
    from api.cli.tokens import configured_token_store

    url = f"{SHIPMENTS}/{UUID(int=1)}"
    assert auth_client.get(url, headers=bearer(issued_tokens.reader)).status_code == 404
    with configured_token_store(auth_settings) as tokens:
        assert tokens.revoke("reader-1")
    assert_problem(auth_client.get(url, headers=bearer(issued_tokens.reader)), 401)


def test_revoking_every_token_never_opens_a_protected_service(
    auth_client: TestClient, issued_tokens: IssuedTokens, auth_settings: Settings
) -> None:
    from api.cli.tokens import configured_token_store

    with configured_token_store(auth_settings) as tokens:
        for record in tokens.records():
            tokens.revoke(record.name)
    assert_problem(auth_client.get(f"{SHIPMENTS}/{UUID(int=1)}"), 401)


def test_health_probes_answer_without_a_token(auth_client: TestClient) -> None:
    assert auth_client.get("/healthz").status_code == 200
    assert auth_client.get("/readyz").status_code == 200


def test_admin_routes_refuse_readers_and_writers_and_admit_admins(
    auth_settings: Settings, issued_tokens: IssuedTokens
) -> None:
    app: FastAPI = create_app(auth_settings)

    @app.get("/admin-probe")
    def admin_probe(principal: AdminDep) -> dict[str, str]:
        return {"subject": principal.subject}

    with TestClient(app, raise_server_exceptions=False) as client:
        assert_problem(client.get("/admin-probe"), 401)
        assert_problem(client.get("/admin-probe", headers=bearer(issued_tokens.reader)), 403)
        assert_problem(client.get("/admin-probe", headers=bearer(issued_tokens.writer)), 403)
        admitted = client.get("/admin-probe", headers=bearer(issued_tokens.admin))
        assert admitted.json() == {"subject": "admin-1"}


def test_without_tokens_the_service_runs_open_as_the_anonymous_actor(
    client: TestClient, new_shipment: dict[str, Any]
) -> None:
    created = client.post(SHIPMENTS, json=new_shipment)
    assert created.status_code == 201, created.text
    store = client.app.state.services.store  # type: ignore[attr-defined]
    events = list(store.events.get(UUID(created.json()["id"])))
    assert [event.actor for event in events] == ["anonymous"]


def test_require_auth_refuses_requests_even_with_no_token_configured(
    settings: Settings,
) -> None:
    protected = settings.model_copy(update={"require_auth": True})
    with TestClient(create_app(protected), raise_server_exceptions=False) as client:
        assert_problem(client.get(f"{SHIPMENTS}/{UUID(int=1)}"), 401)


def test_tokens_kept_in_a_tokens_file_authenticate(
    settings: Settings, tmp_path: Any, new_shipment: dict[str, Any]
) -> None:
    from api.cli.tokens import configured_token_store

    file_settings = settings.model_copy(update={"tokens_file": tmp_path / "tokens.json"})
    with configured_token_store(file_settings) as tokens:
        token = tokens.add("file-writer", "writer")
    with TestClient(create_app(file_settings), raise_server_exceptions=False) as client:
        assert_problem(client.post(SHIPMENTS, json=new_shipment), 401)
        created = create(client, token, new_shipment)
        assert created.json()["version"] == 1
    assert token not in (tmp_path / "tokens.json").read_text()
