"""The access log names the token's actor, and no log line ever holds an access token."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from infrastructure.settings import Settings
from tests.security.test_access_log import access_lines
from tests.support.auth_clients import bearer
from tests.support.identity_provider import RunningProvider
from tests.support.oidc_clients import OidcApp, oidc_app


@pytest.fixture
def store_kind() -> str:
    return "sqlite"


@pytest.fixture
def verbose_oidc(oidc_settings: Settings, provider: RunningProvider) -> Iterator[OidcApp]:
    """The app logging everything down to debug, as JSON lines."""
    yield from oidc_app(oidc_settings.model_copy(update={"log_level": "debug"}), provider)


def test_no_log_line_holds_a_token_and_the_access_log_names_the_actor(
    verbose_oidc: OidcApp,
    new_shipment: dict[str, Any],
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    oidc = verbose_oidc
    caplog.set_level(logging.DEBUG)
    state = oidc.provider.state
    writer = oidc.token("wanda", ["writer"])
    expired = oidc.token("eve", ["admin"], exp=int(oidc.clock()) - 3600)
    unknown_key = state.sign(
        state.claims("mallory", ["admin"], now=oidc.clock()), "rsa-1", headers={"kid": "elsewhere"}
    )
    roleless = oidc.token("nobody", [])
    capsys.readouterr()

    created = oidc.client.post("/v1/shipments", json=new_shipment, headers=bearer(writer))
    assert created.status_code == 201, created.text
    assert oidc.client.get("/v1/shipments", headers=bearer(expired)).status_code == 401
    oidc.provider.down()  # the refetch for the unknown key fails, and says so in the log
    assert oidc.client.get("/v1/shipments", headers=bearer(unknown_key)).status_code == 401
    assert oidc.client.get("/v1/shipments", headers=bearer(roleless)).status_code == 403

    stderr = capsys.readouterr().err
    logged = stderr + "\n".join(record.getMessage() for record in caplog.records)
    assert "could not fetch the identity provider's keys" in logged
    for token in (writer, expired, unknown_key, roleless):
        for part in token.split("."):
            assert part not in logged
    lines = access_lines(stderr)
    assert [(line["status"], line["actor"]) for line in lines] == [
        (201, "wanda"),
        (401, None),
        (401, None),
        (403, None),
    ]
