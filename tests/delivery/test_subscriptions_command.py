"""``shipments subscriptions``: the same subscriptions as the API, from the shell."""

from __future__ import annotations

import pytest

from api.cli import main


@pytest.fixture
def store_env(monkeypatch: pytest.MonkeyPatch, database_url: str) -> str:
    monkeypatch.setenv("SHIPMENTS_DATABASE_URL", database_url)
    monkeypatch.setenv("SHIPMENTS_WEBHOOK_ALLOW_PRIVATE", "false")
    return database_url


def shipments(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_add_prints_the_secret_alone_on_the_last_line_and_list_never_shows_it(
    store_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = shipments(
        capsys, "subscriptions", "add", "https://93.184.215.14/hook", "--types", "shipment.created"
    )
    assert status == 0
    secret = out.strip().splitlines()[-1]
    assert secret.startswith("whsec_")

    status, listing, _ = shipments(capsys, "subscriptions", "list")
    assert status == 0
    assert "https://93.184.215.14/hook" in listing and "active" in listing
    assert secret not in listing


def test_rewind_enable_and_remove_change_the_stored_subscription(
    store_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _, out, _ = shipments(capsys, "subscriptions", "add", "https://93.184.215.14/hook")
    subscription_id = out.split()[1]

    status, rewound, _ = shipments(capsys, "subscriptions", "rewind", subscription_id, "7")
    assert (status, "at position 7" in rewound) == (0, True)
    status, enabled, _ = shipments(capsys, "subscriptions", "enable", subscription_id)
    assert (status, "active" in enabled) == (0, True)
    assert shipments(capsys, "subscriptions", "remove", subscription_id)[0] == 0

    status, _, error = shipments(capsys, "subscriptions", "remove", subscription_id)
    assert status == 1 and "no subscription" in error
    assert "no subscriptions" in shipments(capsys, "subscriptions", "list")[1]


def test_a_private_address_is_refused_from_the_shell_too(
    store_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, error = shipments(capsys, "subscriptions", "add", "http://127.0.0.1:8000/hook")

    assert status == 1
    assert "private" in error
