"""``shipments tokens add|list|revoke``: tokens shown once, kept only as hashes."""

from __future__ import annotations

import hashlib
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.cli import main
from api.http.app import create_app
from infrastructure.settings import Settings
from tests.support.auth_clients import bearer


@pytest.fixture
def store_env(monkeypatch: pytest.MonkeyPatch, database_url: str) -> str:
    """The command line pointed at the test's store."""
    monkeypatch.setenv("SHIPMENTS_DATABASE_URL", database_url)
    monkeypatch.delenv("SHIPMENTS_TOKENS_FILE", raising=False)
    return database_url


def shipments(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def stored_text(database_url: str, tmp_path: Any) -> str:
    """Everything in the token table, as text (to look for the token in it)."""
    if database_url.startswith("sqlite"):
        import sqlite3

        with sqlite3.connect(database_url.removeprefix("sqlite:///")) as db:
            return repr(db.execute("SELECT * FROM api_tokens").fetchall())
    base, schema = database_url.split("?schema=")
    with psycopg.connect(base) as db:
        return repr(db.execute(f'SELECT * FROM "{schema}".api_tokens').fetchall())


def test_add_prints_a_new_token_alone_on_the_last_line_and_it_authenticates(
    store_env: str, capsys: pytest.CaptureFixture[str], new_shipment: dict[str, Any]
) -> None:
    status, out, _ = shipments(capsys, "tokens", "add", "ci-bot", "--role", "writer")
    assert status == 0
    token = out.rstrip("\n").splitlines()[-1]
    assert token.startswith("shp_") and " " not in token

    with TestClient(create_app(Settings(database_url=store_env))) as client:
        created = client.post("/v1/shipments", json=new_shipment, headers=bearer(token))
        assert created.status_code == 201, created.text
        assert client.post("/v1/shipments", json=new_shipment).status_code == 401


def test_only_the_hash_of_a_token_is_stored(
    store_env: str, capsys: pytest.CaptureFixture[str], tmp_path: Any
) -> None:
    _, out, _ = shipments(capsys, "tokens", "add", "ops", "--role", "admin")
    token = out.splitlines()[-1]
    stored = stored_text(store_env, tmp_path)
    assert token not in stored
    assert hashlib.sha256(token.encode()).hexdigest() in stored


def test_list_shows_names_and_roles_but_never_a_token(
    store_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _, first, _ = shipments(capsys, "tokens", "add", "alice", "--role", "reader")
    _, second, _ = shipments(capsys, "tokens", "add", "bob", "--role", "admin")
    status, listing, _ = shipments(capsys, "tokens", "list")
    assert status == 0
    rows = [line.split()[:2] for line in listing.splitlines()[1:]]
    assert rows == [["alice", "reader"], ["bob", "admin"]]
    for out in (first, second):
        assert out.splitlines()[-1] not in listing


def test_revoke_forgets_a_token_and_says_when_there_is_none(
    store_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    shipments(capsys, "tokens", "add", "temp", "--role", "reader")
    assert shipments(capsys, "tokens", "revoke", "temp")[0] == 0
    status, _, err = shipments(capsys, "tokens", "revoke", "temp")
    assert status == 1
    assert "no token named 'temp'" in err
    assert "temp" not in shipments(capsys, "tokens", "list")[1]


def test_a_taken_or_unusable_name_is_refused(
    store_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    shipments(capsys, "tokens", "add", "dup", "--role", "reader")
    status, out, err = shipments(capsys, "tokens", "add", "dup", "--role", "admin")
    assert (status, out) == (1, "")
    assert "exists" in err
    status, _, err = shipments(capsys, "tokens", "add", "two words", "--role", "admin")
    assert status == 1
    assert "invalid token name" in err


def test_an_unknown_role_is_a_usage_error(
    store_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["tokens", "add", "x", "--role", "root"])
    assert exit_info.value.code == 2


def test_tokens_live_in_the_tokens_file_when_one_is_configured(
    store_env: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Any,
) -> None:
    tokens_file = tmp_path / "secrets" / "tokens.json"
    monkeypatch.setenv("SHIPMENTS_TOKENS_FILE", str(tokens_file))
    _, out, _ = shipments(capsys, "tokens", "add", "filed", "--role", "writer")
    token = out.splitlines()[-1]
    assert hashlib.sha256(token.encode()).hexdigest() in tokens_file.read_text()
    assert token not in tokens_file.read_text()
    assert tokens_file.stat().st_mode & 0o077 == 0
    assert "filed" in shipments(capsys, "tokens", "list")[1]
