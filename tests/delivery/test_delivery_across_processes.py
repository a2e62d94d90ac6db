"""Real server processes on one store: each subscription delivered by one of them, nothing lost.

Two servers with writers on both deliver every event to every receiver once, in
feed order; a server killed while a delivery is in flight, started again,
delivers everything (the one in flight may come twice).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.wiring import build_services
from infrastructure.settings import Settings
from tests.delivery.receivers import Receiver, eventually, running_receiver
from tests.support.servers import running_server, stop

WRITERS = 6
PATCHES_EACH = 5
EXPECTED = WRITERS * (1 + PATCHES_EACH)


def delivery_env(lease_seconds: float) -> dict[str, str]:
    return {
        "SHIPMENTS_WEBHOOK_ALLOW_PRIVATE": "true",
        "SHIPMENTS_WEBHOOK_RETRY_SCHEDULE": "0,0,0,0,0",
        "SHIPMENTS_WEBHOOK_LEASE_SECONDS": str(lease_seconds),
    }


def subscribe(url: str, receiver: Receiver) -> None:
    response = httpx.post(f"{url}/v1/subscriptions", json={"url": receiver.url, "after": 0})
    assert response.status_code == 201, response.text
    receiver.secrets.append(response.json()["secret"])


def write_a_stream(url: str, writer: int, start: threading.Barrier) -> None:
    with httpx.Client(base_url=url, timeout=30) as http:
        start.wait()
        created = http.post("/v1/shipments", json={"shipmentType": "HHG", "weightLbs": 1})
        assert created.status_code == 201, created.text
        shipment_id = created.json()["id"]
        for n in range(PATCHES_EACH):
            answer = http.patch(
                f"/v1/shipments/{shipment_id}",
                json={"weightLbs": 1000 * writer + n + 2},
                headers={"If-Match": "*", "Content-Type": "application/merge-patch+json"},
            )
            assert answer.status_code == 200, answer.text


def log_positions(url: str) -> list[int]:
    positions: list[int] = []
    after = 0
    while True:
        body: dict[str, Any] = httpx.get(
            f"{url}/v1/events", params={"after": after, "limit": 500}
        ).json()
        positions += [item["position"] for item in body["items"]]
        if body["nextAfter"] is None:
            return positions
        after = body["nextAfter"]


@pytest.mark.slow
def test_two_servers_deliver_every_event_once_in_order_to_every_subscription(
    database_url: str, tmp_path: Path
) -> None:
    env = delivery_env(lease_seconds=30)
    with (
        running_server(database_url, tmp_path, extra_env=env) as first,
        running_server(database_url, tmp_path, extra_env=env) as second,
        running_receiver() as a,
        running_receiver() as b,
        running_receiver() as c,
    ):
        urls = (first.base_url, second.base_url)
        for n, receiver in enumerate((a, b, c)):
            subscribe(urls[n % 2], receiver)
        start = threading.Barrier(WRITERS)
        with ThreadPoolExecutor(max_workers=WRITERS) as pool:
            writers = [pool.submit(write_a_stream, urls[n % 2], n, start) for n in range(WRITERS)]
            for writer in writers:
                writer.result()

        log = log_positions(first.base_url)
        assert len(log) == EXPECTED
        for receiver in (a, b, c):
            eventually(lambda r=receiver: len(r.accepted()) >= EXPECTED, 60, "all delivered")  # type: ignore[misc]
            assert receiver.accepted_positions() == log
            assert all(delivery.verified for delivery in receiver.requests)
        # Both servers' deliverer processes deliver: they share the three (two and one).
        eventually(lambda: sorted(lease_counts(database_url)) == [1, 2], 30, "shared out")


def lease_counts(database_url: str) -> list[int]:
    """How many subscriptions each live lease holder holds (read as another process would)."""
    services = build_services(Settings(database_url=database_url))
    try:
        owners = Counter(
            subscription.lease_owner
            for subscription in services.subscriptions.subscriptions.all()
            if subscription.lease_owner is not None
        )
    finally:
        services.close()
    return list(owners.values())


@pytest.mark.slow
def test_a_server_killed_mid_delivery_and_started_again_delivers_everything(
    database_url: str, tmp_path: Path
) -> None:
    env = delivery_env(lease_seconds=2)
    with running_receiver() as receiver:
        receiver.hold = threading.Event()  # the first delivery hangs until released
        with running_server(database_url, tmp_path, extra_env=env) as server:
            subscribe(server.base_url, receiver)
            for n in range(3):
                write_a_stream(server.base_url, n, threading.Barrier(1))
            eventually(lambda: receiver.arrived >= 1, what="a delivery in flight")
            log = log_positions(server.base_url)
            stop(server, signal.SIGKILL)
        receiver.hold.set()  # the dead server's request is answered; its position never saved
        receiver.hold = None
        with running_server(database_url, tmp_path, extra_env=env):
            eventually(lambda: set(receiver.accepted_positions()) >= set(log), 60, "all delivered")

        delivered = receiver.accepted_positions()
        first_seen = list(dict.fromkeys(delivered))
        assert first_seen == log  # in order, nothing missing
        assert len(delivered) - len(first_seen) <= 1  # at most the one in flight twice


def delivering_child(log: str) -> int:
    """The process id of the latest deliverer child ``shipments serve`` reported starting."""
    started = re.findall(r"delivering from process (\d+)", log)
    assert started, log
    return int(started[-1])


def process_is_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # A zombie is gone too: it delivers nothing, only waits for its parent to reap it.
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"
    return False


@pytest.mark.slow
def test_serve_delivers_from_a_child_process_started_again_when_killed(
    database_url: str, tmp_path: Path
) -> None:
    env = delivery_env(lease_seconds=2)  # the killed child's subscription moves on quickly
    with running_receiver() as receiver:
        with running_server(database_url, tmp_path, extra_env=env, workers=2) as server:
            first_child = delivering_child(server.log())
            subscribe(server.base_url, receiver)
            write_a_stream(server.base_url, 0, threading.Barrier(1))
            log = log_positions(server.base_url)
            eventually(lambda: receiver.accepted_positions() == log, 30, "delivered by the child")
            # The workers answering /metrics deliver nothing themselves.
            metrics = httpx.get(f"{server.base_url}/metrics").text
            here = re.findall(r"^\w+_delivering_here\{.*\} (\S+)$", metrics, re.M)
            assert here and all(float(value) == 0 for value in here), metrics

            os.kill(first_child, signal.SIGKILL)
            eventually(
                lambda: delivering_child(server.log()) != first_child, 30, "a new child started"
            )
            write_a_stream(server.base_url, 1, threading.Barrier(1))
            log = log_positions(server.base_url)
            eventually(lambda: set(receiver.accepted_positions()) >= set(log), 60, "delivered")
            second_child = delivering_child(server.log())
        # With the server stopped, its deliverer is gone too, having let go of its lease.
        eventually(lambda: process_is_gone(second_child), 30, "the child stopped with the server")

    first_seen = list(dict.fromkeys(receiver.accepted_positions()))
    assert first_seen == log  # in order, nothing missing across the child's death
    assert all(delivery.verified for delivery in receiver.requests)
    assert "Traceback" not in server.log(), server.log()
