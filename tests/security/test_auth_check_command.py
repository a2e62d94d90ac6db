"""``shipments auth check TOKEN``: what the service would make of a token, for an operator."""

from __future__ import annotations

import io
import re

import pytest

from api.cli import main
from tests.support.identity_provider import AUDIENCE, RunningProvider


@pytest.fixture
def store_kind() -> str:
    return "sqlite"


@pytest.fixture
def oidc_env(
    monkeypatch: pytest.MonkeyPatch, database_url: str, provider: RunningProvider
) -> RunningProvider:
    """The command line pointed at the test's store and the test's provider."""
    monkeypatch.setenv("SHIPMENTS_DATABASE_URL", database_url)
    monkeypatch.delenv("SHIPMENTS_TOKENS_FILE", raising=False)
    monkeypatch.setenv("SHIPMENTS_OIDC_ISSUER", provider.issuer)
    monkeypatch.setenv("SHIPMENTS_OIDC_AUDIENCE", AUDIENCE)
    return provider


def check(capsys: pytest.CaptureFixture[str], token: str) -> tuple[int, str]:
    status = main(["auth", "check", token])
    return status, capsys.readouterr().out


def test_an_accepted_access_token_shows_subject_role_and_expiry(
    oidc_env: RunningProvider, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out = check(capsys, oidc_env.state.token("wanda", ["reader", "writer"], "ec-1"))
    assert status == 0, out
    assert "subject: wanda" in out
    assert "role:    writer" in out
    assert re.search(r"expires: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(in \dm \d+s\)", out), out
    assert "key:     ec-1" in out


def test_a_refused_token_says_why_and_exits_1(
    oidc_env: RunningProvider, capsys: pytest.CaptureFixture[str]
) -> None:
    state = oidc_env.state
    expired = state.sign({**state.claims("eve", ["admin"], now=0), "exp": 100}, "rsa-1")
    status, out = check(capsys, expired)
    assert status == 1
    assert "refused: 401 invalid_token: the token has expired" in out
    status, out = check(capsys, state.token("nobody", ["viewer"], "rsa-1"))
    assert status == 1
    assert "role:    none: 403" in out


def test_a_token_is_read_from_stdin_with_a_dash(
    oidc_env: RunningProvider, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    token = oidc_env.state.token("ada", ["admin"], "ed-1")
    monkeypatch.setattr("sys.stdin", io.StringIO(f"Bearer {token}\n"))
    status, out = check(capsys, "-")
    assert status == 0, out
    assert "role:    admin" in out


def test_static_tokens_are_checked_against_the_token_store(
    oidc_env: RunningProvider, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["tokens", "add", "ci-bot", "--role", "writer"]) == 0
    token = capsys.readouterr().out.strip().splitlines()[-1]
    status, out = check(capsys, token)
    assert status == 0, out
    assert "static token" in out
    assert "subject: ci-bot" in out
    assert "role:    writer" in out
    status, out = check(capsys, "shp_not-a-token")
    assert status == 1
    assert "refused: 401" in out
