"""The pure rules of push delivery: which addresses are refused, when to retry, how to sign."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from infrastructure.delivery.destinations import (
    RefusedDestination,
    checked_destination,
    is_private,
    parse_destination,
)
from infrastructure.delivery.retry_schedule import JITTER, RetrySchedule
from infrastructure.delivery.signing import signature_headers
from infrastructure.delivery.subscriptions import new_secret


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "169.254.169.254",
        "::1",
        "fe80::1",
        "fc00::1",
        "::ffff:10.0.0.1",
        "0.0.0.0",
        "100.64.0.1",
        "224.0.0.1",
    ],
)
def test_addresses_outside_the_internet_are_private(address: str) -> None:
    assert is_private(address)


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"])
def test_public_addresses_are_not(address: str) -> None:
    assert not is_private(address)


def test_a_nats_url_names_its_server_and_one_subject() -> None:
    destination = parse_destination("nats://broker.example:4333/shipments.changes")

    assert (destination.host, destination.port, destination.subject) == (
        "broker.example",
        4333,
        "shipments.changes",
    )
    assert parse_destination("nats://broker.example/s").port == 4222


def test_private_addresses_are_allowed_only_when_configured() -> None:
    with pytest.raises(RefusedDestination):
        checked_destination("http://127.0.0.1:8080/hook", allow_private=False)

    assert checked_destination("http://127.0.0.1:8080/hook", allow_private=True).port == 8080


def test_retries_follow_the_schedule_within_the_jitter_then_give_up() -> None:
    schedule = RetrySchedule.parse("5,300", random.Random(7))

    first, second = schedule.wait_after(1), schedule.wait_after(2)

    assert first is not None and 5 * (1 - JITTER) <= first <= 5 * (1 + JITTER)
    assert second is not None and 300 * (1 - JITTER) <= second <= 300 * (1 + JITTER)
    assert schedule.wait_after(3) is None


def test_jitter_spreads_the_retries_of_many_subscriptions() -> None:
    schedule = RetrySchedule.parse("100", random.Random(1))

    assert len({schedule.wait_after(1) for _ in range(20)}) == 20


def test_signatures_verify_with_the_standard_webhooks_library_under_each_secret() -> None:
    old, new = new_secret(), new_secret()
    body = b'{"type":"shipment.created"}'
    now = int(datetime.now(UTC).timestamp())

    headers = signature_headers([new, old], "msg_1", now, body)

    assert Webhook(new).verify(body, headers) == {"type": "shipment.created"}
    assert Webhook(old).verify(body, headers) == {"type": "shipment.created"}
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new).verify(body + b" ", headers)
