"""``shipments serve`` with an identity provider configured is protected, also without tokens."""

from __future__ import annotations

import os
from typing import Any

import pytest

from api.cli import main


@pytest.fixture
def store_kind() -> str:
    return "sqlite"


def test_serve_listens_beyond_loopback_with_an_issuer_and_requires_tokens(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SHIPMENTS_DATABASE_URL", database_url)
    monkeypatch.delenv("SHIPMENTS_TOKENS_FILE", raising=False)
    monkeypatch.setenv("SHIPMENTS_OIDC_ISSUER", "https://login.example.gov")
    monkeypatch.setenv("SHIPMENTS_OIDC_AUDIENCE", "shipments-api")
    # serve writes these for its workers; monkeypatch puts them back afterwards.
    monkeypatch.setenv("SHIPMENTS_REQUIRE_AUTH", "false")
    monkeypatch.setenv("SHIPMENTS_CREATE_TABLES", "true")
    started: list[dict[str, Any]] = []
    monkeypatch.setattr("uvicorn.run", lambda *args, **kwargs: started.append(kwargs))

    assert main(["serve", "--host", "0.0.0.0"]) == 0

    assert [run["host"] for run in started] == ["0.0.0.0"]
    assert os.environ["SHIPMENTS_REQUIRE_AUTH"] == "true"
    assert "AUTHENTICATION IS OFF" not in capsys.readouterr().err
