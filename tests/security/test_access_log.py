"""One structured line per request on stderr, and never a token in it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.http.app import create_app
from infrastructure.settings import Settings
from tests.support.auth_clients import IssuedTokens, bearer

ACCESS_FIELDS = {"method", "path", "status", "duration_ms", "request_id", "actor"}


def access_lines(stderr: str) -> list[dict[str, Any]]:
    """The JSON access-log lines in ``stderr`` (each line must parse on its own)."""
    lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("logger") == "shipments.access"]


def test_a_request_is_logged_as_one_json_line_with_who_did_what(
    auth_client: TestClient,
    issued_tokens: IssuedTokens,
    new_shipment: dict[str, Any],
    capsys: pytest.CaptureFixture[str],
) -> None:
    capsys.readouterr()
    created = auth_client.post(
        "/v1/shipments",
        json=new_shipment,
        headers={**bearer(issued_tokens.writer), "X-Request-ID": "req-42"},
    )
    assert created.status_code == 201, created.text

    stderr = capsys.readouterr().err
    [line] = access_lines(stderr)
    assert set(line) >= ACCESS_FIELDS
    assert line["method"] == "POST"
    assert line["path"] == "/v1/shipments"
    assert line["status"] == 201
    assert line["request_id"] == "req-42"
    assert line["actor"] == "writer-1"
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert issued_tokens.writer not in stderr


def test_refused_requests_are_logged_without_an_actor_or_the_token_they_sent(
    auth_client: TestClient, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    wrong = "shp_a-guess-that-must-not-be-logged"
    response = auth_client.get(f"/v1/shipments/{'0' * 32}", headers=bearer(wrong))
    assert response.status_code == 401

    stderr = capsys.readouterr().err
    [line] = access_lines(stderr)
    assert (line["status"], line["actor"]) == (401, None)
    assert line["request_id"] == response.headers["X-Request-ID"]
    assert wrong not in stderr


def test_text_log_format_gives_humans_one_readable_line(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    text_settings = settings.model_copy(update={"log_format": "text"})
    with TestClient(create_app(text_settings)) as client:
        capsys.readouterr()
        client.get("/healthz", headers={"X-Request-ID": "rid-7"})
    [line] = [line for line in capsys.readouterr().err.splitlines() if "GET /healthz" in line]
    assert "GET /healthz 200" in line
    assert "request_id=rid-7" in line
    assert not line.startswith("{")
