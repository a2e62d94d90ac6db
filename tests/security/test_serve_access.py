"""``shipments serve`` never runs open where others can reach it."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from api.cli import main
from api.cli.serve import is_loopback
from api.cli.tokens import configured_token_store
from infrastructure.settings import Settings
from tests.support.auth_clients import bearer
from tests.support.servers import running_server


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.10", "::", "shipments.example"])
def test_serve_refuses_a_non_loopback_host_when_no_token_is_configured(
    host: str,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("SHIPMENTS_DATABASE_URL", database_url)
    monkeypatch.delenv("SHIPMENTS_TOKENS_FILE", raising=False)
    assert main(["serve", "--host", host]) == 2
    message = capsys.readouterr().err
    assert "refusing to serve" in message
    assert "shipments tokens add" in message


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.0.1", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("10.0.0.1", False),
        ("example.org", False),
    ],
)
def test_only_loopback_hosts_count_as_local(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


@pytest.mark.slow
def test_serve_on_loopback_without_tokens_runs_open_and_says_so_loudly(
    database_url: str, tmp_path: Path
) -> None:
    with running_server(database_url, tmp_path) as server:
        assert httpx.get(f"{server.base_url}/v1/shipments/{'0' * 32}").status_code == 404
        assert "AUTHENTICATION IS OFF" in server.log()


@pytest.mark.slow
def test_serve_with_tokens_configured_requires_them(database_url: str, tmp_path: Path) -> None:
    with configured_token_store(Settings(database_url=database_url)) as tokens:
        token = tokens.add("svc", "reader")
    with running_server(database_url, tmp_path) as server:
        url = f"{server.base_url}/v1/shipments/{'0' * 32}"
        assert httpx.get(url).status_code == 401
        assert httpx.get(url, headers=bearer(token)).status_code == 404
        assert "AUTHENTICATION IS OFF" not in server.log()
        assert token not in server.log()
