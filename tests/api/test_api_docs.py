"""``/docs`` and ``/redoc`` load everything they need from the server itself (no CDN)."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

REFERENCE = re.compile(r"""(?:src|href|spec-url)=["']([^"']+)["']""")


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_a_docs_page_refers_only_to_assets_this_server_serves(
    client: TestClient, page: str
) -> None:
    answer = client.get(page)
    assert answer.status_code == 200
    # The browser itself refuses anything from elsewhere (ReDoc would fetch its logo).
    assert "default-src 'self'" in answer.headers["Content-Security-Policy"]
    assert "//" not in "".join(REFERENCE.findall(answer.text)), answer.text
    assert "cdn" not in answer.text.lower()
    references = REFERENCE.findall(answer.text)
    assert references
    for reference in references:
        asset = client.get(reference)
        assert asset.status_code == 200, reference
        assert asset.content, reference


def test_only_the_known_assets_are_served(client: TestClient) -> None:
    assert (
        client.get("/docs/assets/swagger-ui-bundle.js")
        .headers["content-type"]
        .startswith("text/javascript")
    )
    for name in ("index.html", "..%2FLICENSE", "static"):
        assert client.get(f"/docs/assets/{name}").status_code == 404


def test_the_docs_pages_stay_out_of_the_openapi_document(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert not any(path.startswith(("/docs", "/redoc")) for path in paths)


def test_the_servers_address_says_where_everything_is(client: TestClient) -> None:
    answer = client.get("/")
    assert answer.status_code == 200
    index = answer.json()
    for name in ("api", "docs", "openapi", "console", "health", "problems"):
        assert client.get(index[name]).status_code == 200, name
