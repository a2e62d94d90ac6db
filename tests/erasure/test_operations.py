"""The operator's tools on an erased stream: rebuild, verify, history, replay, the store's file."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from api.cli import main
from tests.api.conftest import url
from tests.erasure.conftest import (
    database_dump,
    found_secrets,
    ok,
    write_every_kind_of_event,
)


@pytest.fixture
def erased_id(erasure_client: TestClient) -> str:
    stream = write_every_kind_of_event(erasure_client)
    ok(erasure_client.delete(f"{url(stream.document)}/personal-data", headers={"If-Match": "*"}))
    return stream.id


def test_a_view_rebuilt_after_erasure_holds_no_erased_value_and_verifies(
    erased_id: str,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("SHIPMENTS_DATABASE_URL", database_url)

    assert main(["verify"]) == 0
    assert main(["projections", "rebuild"]) == 0
    assert main(["verify"]) == 0

    assert found_secrets(capsys.readouterr().err) == []
    assert found_secrets(database_dump(database_url)) == []


def test_history_and_replay_show_the_erased_stream_without_its_values(
    erased_id: str,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("SHIPMENTS_DATABASE_URL", database_url)

    assert main(["history", erased_id]) == 0
    assert main(["replay", erased_id]) == 0
    assert main(["replay", erased_id, "--json"]) == 0

    shown = capsys.readouterr()
    assert "PersonalDataErased" in shown.out
    assert found_secrets(shown.out + shown.err) == []


@pytest.mark.parametrize("store_kind", ["sqlite"], indirect=True)
def test_the_sqlite_file_itself_holds_no_erased_value_after_a_checkpoint(
    erased_id: str, database_url: str
) -> None:
    path = Path(urlsplit(database_url).path[1:])
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    raw = path.read_bytes().decode("latin-1")

    assert found_secrets(raw) == []
