"""The console's routes: the page under /ui/, its files, whoami, and none of it in the schema."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.support.auth_clients import (
    IssuedTokens,
    auth_client,
    auth_settings,
    bearer,
    issued_tokens,
)

__all__ = ["auth_client", "auth_settings", "issued_tokens"]


def test_ui_without_the_slash_redirects_to_the_page(client: TestClient) -> None:
    answer = client.get("/ui", follow_redirects=False)
    assert answer.status_code in (307, 308)
    assert answer.headers["Location"] == "/ui/"


@pytest.mark.parametrize(
    "path", ["/ui/", "/ui/shipments/0b6f3a8e-0000-4000-8000-000000000000", "/ui/subscriptions"]
)
def test_every_page_of_the_console_is_the_same_single_page_app(
    client: TestClient, path: str
) -> None:
    answer = client.get(path)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    assert '<script type="module" src="/ui/static/app.js">' in answer.text
    assert "default-src 'self'" in answer.headers["Content-Security-Policy"]


def test_the_pages_scripts_are_served_as_javascript(client: TestClient) -> None:
    script = client.get("/ui/static/app.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert client.get("/ui/static/app.css").headers["content-type"].startswith("text/css")


@pytest.mark.parametrize("name", ["nothing.js", "..%2Froutes.py", "index.html"])
def test_only_the_consoles_own_files_are_served(client: TestClient, name: str) -> None:
    answer = client.get(f"/ui/static/{name}")
    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/problem+json"


def test_no_console_route_is_in_the_openapi_document(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert not [path for path in paths if path.startswith("/ui")]


def test_whoami_names_the_anonymous_admin_when_running_open(client: TestClient) -> None:
    assert client.get("/ui/whoami").json() == {"subject": "anonymous", "role": "admin"}


def test_whoami_names_the_tokens_subject_and_role(
    auth_client: TestClient, issued_tokens: IssuedTokens
) -> None:
    answer = auth_client.get("/ui/whoami", headers=bearer(issued_tokens.reader))
    assert answer.json() == {"subject": "reader-1", "role": "reader"}
    assert answer.headers["Cache-Control"] == "no-store"


def test_whoami_without_a_token_is_401_like_every_read(auth_client: TestClient) -> None:
    answer = auth_client.get("/ui/whoami")
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    assert auth_client.get("/ui/").status_code == 200  # the page itself needs no token
