"""The master key: where it comes from, and a server that refuses to start without the right one."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from pydantic import SecretStr

from api.cli import main
from api.cli.serve import master_key_note, master_key_refusal
from api.wiring import build_services
from infrastructure.database_url import parse_database_url
from infrastructure.master_key import (
    MasterKeyMismatch,
    MasterKeyProblem,
    new_master_key_text,
    resolve_master_key,
)
from infrastructure.settings import Settings
from infrastructure.shipment_service import WriteContext
from tests.unit.shipments import DETAILS


def no_key_settings(monkeypatch: pytest.MonkeyPatch, url: str) -> Settings:
    monkeypatch.delenv("SHIPMENTS_MASTER_KEY", raising=False)
    monkeypatch.delenv("SHIPMENTS_MASTER_KEY_FILE", raising=False)
    return Settings(database_url=url)


def test_a_sqlite_store_without_a_key_gets_one_generated_beside_it_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = no_key_settings(monkeypatch, f"sqlite:///{tmp_path}/store.db")
    target = parse_database_url(settings.database_url)

    first = resolve_master_key(settings, target)
    again = resolve_master_key(settings, target)

    key_file = tmp_path / "store.db.master-key"
    assert first.generated and not again.generated
    assert first.secret == again.secret
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    note = master_key_note(first)
    assert note is not None and str(key_file) in note


def test_postgres_without_a_key_is_refused_with_what_to_do(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = no_key_settings(monkeypatch, "postgresql://postgres@127.0.0.1:5432/test")
    with pytest.raises(MasterKeyProblem, match="SHIPMENTS_MASTER_KEY"):
        resolve_master_key(settings, parse_database_url(settings.database_url))


def test_a_malformed_key_is_refused() -> None:
    settings = Settings(database_url="sqlite:///:memory:", master_key="not-a-key")
    with pytest.raises(MasterKeyProblem, match="32 random bytes"):
        resolve_master_key(settings, parse_database_url(settings.database_url))


def test_serving_elsewhere_than_loopback_without_a_configured_key_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = no_key_settings(monkeypatch, f"sqlite:///{tmp_path}/store.db")
    assert master_key_refusal(settings, "127.0.0.1") is None
    configured = settings.model_copy(update={"master_key": SecretStr("x")})
    assert master_key_refusal(configured, "0.0.0.0") is None
    monkeypatch.setenv("SHIPMENTS_DATABASE_URL", settings.database_url)

    assert main(["serve", "--host", "0.0.0.0"]) == 2

    assert "refusing to serve on 0.0.0.0 without a master key" in capsys.readouterr().err
    assert not (tmp_path / "store.db.master-key").exists()


def test_a_store_opened_with_another_key_refuses_to_start_and_decrypts_nothing(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    services = build_services(settings)
    services.shipments.create(DETAILS, WriteContext("alice", None))
    services.close()
    other_key = new_master_key_text()
    other = settings.model_copy(update={"master_key": SecretStr(other_key)})

    with pytest.raises(MasterKeyMismatch, match="not the key"):
        build_services(other)

    monkeypatch.setenv("SHIPMENTS_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("SHIPMENTS_MASTER_KEY", other_key)
    assert main(["serve", "--host", "127.0.0.1"]) == 2
    assert "refusing to start" in capsys.readouterr().err


def test_the_master_key_command_prints_a_usable_key(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["master-key"]) == 0
    printed = capsys.readouterr().out.strip()
    settings = Settings(database_url="sqlite:///:memory:", master_key=printed)
    assert len(resolve_master_key(settings, parse_database_url(settings.database_url)).secret) == 32
