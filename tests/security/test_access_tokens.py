"""Access tokens of an identity provider: each role's rights and the actor, on both stores."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from infrastructure.settings import Settings
from tests.security.test_authentication import assert_problem
from tests.support.auth_clients import IssuedTokens, bearer
from tests.support.identity_provider import RunningProvider
from tests.support.oidc_clients import OidcApp, oidc_app

SHIPMENTS = "/v1/shipments"
MERGE_PATCH = "application/merge-patch+json"


def refuse(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("the route's read must not be used: the edge answers plain reads")


def created(oidc: OidcApp, token: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = oidc.client.post(SHIPMENTS, json=body, headers=bearer(token))
    assert answer.status_code == 201, answer.text
    shipment: dict[str, Any] = answer.json()
    return shipment


def history_actors(oidc: OidcApp, shipment_id: str, token: str) -> list[str]:
    answer = oidc.client.get(f"{SHIPMENTS}/{shipment_id}/history", headers=bearer(token))
    assert answer.status_code == 200, answer.text
    return [item["actor"] for item in answer.json()["items"]]


def test_a_reader_token_reads_and_every_write_is_403(
    oidc: OidcApp, new_shipment: dict[str, Any]
) -> None:
    shipment = created(oidc, oidc.token("wanda", ["writer"]), new_shipment)
    reader = bearer(oidc.token("rita", ["reader"]))
    path = f"{SHIPMENTS}/{shipment['id']}"

    assert oidc.client.get(path, headers=reader).json() == shipment
    assert oidc.client.get(SHIPMENTS, headers=reader).status_code == 200
    assert_problem(oidc.client.post(SHIPMENTS, json=new_shipment, headers=reader), 403)
    patch = {**reader, "If-Match": "*", "Content-Type": MERGE_PATCH}
    assert_problem(oidc.client.patch(path, content=b'{"weightLbs": 9}', headers=patch), 403)
    assert_problem(oidc.client.get("/metrics", headers=reader), 403)


def test_a_writer_token_writes_and_its_sub_is_the_actor_of_each_event(
    oidc: OidcApp, new_shipment: dict[str, Any]
) -> None:
    writer = oidc.token("wanda", ["writer"])
    shipment = created(oidc, writer, new_shipment)
    path = f"{SHIPMENTS}/{shipment['id']}"
    headers = {**bearer(writer), "If-Match": f'"{shipment["eTag"]}"', "Content-Type": MERGE_PATCH}
    patched = oidc.client.patch(path, content=b'{"weightLbs": 900}', headers=headers)
    assert patched.status_code == 200, patched.text
    replaced = oidc.client.put(
        path,
        json={**new_shipment, "weightLbs": 901},
        headers={**bearer(writer), "If-Match": patched.headers["ETag"]},
    )
    assert replaced.status_code == 200, replaced.text

    assert history_actors(oidc, shipment["id"], writer) == ["wanda", "wanda", "wanda"]
    assert_problem(oidc.client.get("/metrics", headers=bearer(writer)), 403)


def test_an_admin_token_may_also_operate_the_service(
    oidc: OidcApp, new_shipment: dict[str, Any]
) -> None:
    admin = oidc.token("ada", "reader admin")  # a space-separated string, strongest wins
    created(oidc, admin, new_shipment)
    assert oidc.client.get("/metrics", headers=bearer(admin)).status_code == 200
    whoami = oidc.client.get("/ui/whoami", headers=bearer(admin)).json()
    assert whoami == {"subject": "ada", "role": "admin"}


def test_a_valid_token_without_a_role_here_is_403_not_401(oidc: OidcApp) -> None:
    for roles in ([], ["offline_access", "uma_authorization"], None, "", 7):
        answer = oidc.client.get(SHIPMENTS, headers=bearer(oidc.token("nobody", roles)))
        problem = assert_problem(answer, 403)
        assert "no role" in problem["detail"]


def test_the_edge_doors_accept_access_tokens(
    oidc: OidcApp, new_shipment: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = oidc.token("wanda", ["writer"])
    shipment = created(oidc, writer, new_shipment)
    path = f"{SHIPMENTS}/{shipment['id']}"
    monkeypatch.setattr(oidc.client.app.state.services.view, "get", refuse)  # type: ignore[attr-defined]
    read = oidc.client.get(path, headers=bearer(oidc.token("rita", ["reader"])))
    assert read.status_code == 200, read.text
    assert read.json() == shipment
    monkeypatch.undo()
    headers = {**bearer(writer), "If-Match": "*", "Content-Type": MERGE_PATCH}
    assert oidc.client.patch(path, content=b'{"weightLbs": 5}', headers=headers).status_code == 200
    assert history_actors(oidc, shipment["id"], writer) == ["wanda", "wanda"]


@pytest.fixture
def oidc_with_claims(oidc_settings: Settings, provider: RunningProvider) -> Iterator[OidcApp]:
    """The app reading Keycloak's shape: roles under realm_access, actor preferred_username."""
    configured = oidc_settings.model_copy(
        update={"oidc_roles_claim": "realm_access.roles", "oidc_actor_claim": "preferred_username"}
    )
    yield from oidc_app(configured, provider)


def test_roles_and_actor_come_from_the_configured_claims(
    oidc_with_claims: OidcApp, new_shipment: dict[str, Any]
) -> None:
    oidc = oidc_with_claims
    writer = oidc.token(
        "f81d4fae-7dec",
        None,
        realm_access={"roles": ["default-roles", "writer"]},
        preferred_username="wanda@example.com",
    )
    shipment = created(oidc, writer, new_shipment)
    assert history_actors(oidc, shipment["id"], writer) == ["wanda@example.com"]
    top_level_only = oidc.token("x", ["writer"], preferred_username="x")
    assert_problem(oidc.client.get(SHIPMENTS, headers=bearer(top_level_only)), 403)
    no_actor = oidc.token("y", None, realm_access={"roles": ["reader"]})
    problem = assert_problem(oidc.client.get(SHIPMENTS, headers=bearer(no_actor)), 401)
    assert "preferred_username" in problem["detail"]


def test_static_tokens_still_work_beside_access_tokens(
    oidc_settings: Settings,
    provider: RunningProvider,
    issued_tokens: IssuedTokens,
    new_shipment: dict[str, Any],
) -> None:
    for oidc in oidc_app(oidc_settings, provider):
        shipment = created(oidc, issued_tokens.writer, new_shipment)
        jwt_writer = oidc.token("wanda", ["writer"])
        path = f"{SHIPMENTS}/{shipment['id']}"
        headers = {**bearer(jwt_writer), "If-Match": "*", "Content-Type": MERGE_PATCH}
        assert oidc.client.patch(path, content=b'{"weightLbs": 3}', headers=headers).is_success
        assert history_actors(oidc, shipment["id"], issued_tokens.reader) == ["writer-1", "wanda"]
        assert_problem(oidc.client.post(SHIPMENTS, json=new_shipment, headers=bearer("shp_x")), 401)
