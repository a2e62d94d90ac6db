"""Concurrent HTTP writers that remember every answer, for the crash-safety test.

Each writer owns its shipments (so no 412 races blur the picture) and keeps
two ledgers: writes acknowledged with 2xx (shipment, version, body) and
writes whose answer never came (a dropped connection or a 5xx), with the
content they asked for. Creates carry an ``Idempotency-Key`` and are retried
with the same key until answered, as a careful client would; merge patches
carry none, so an unanswered one stays in doubt and is checked afterwards.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

MERGE_PATCH = "application/merge-patch+json"
NEW_SHIPMENT: dict[str, Any] = {
    "shipmentType": "HHG",
    "destinationAddress": {
        "streetAddress1": "1 Main Street",
        "city": "Austin",
        "state": "TX",
        "postalCode": "73301",
    },
}


class ServerAddress:
    """Where the service answers now; a restarted server gets a new port."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._base_url: str | None = None

    def set(self, base_url: str | None) -> None:
        with self._lock:
            self._base_url = base_url

    def get(self) -> str | None:
        with self._lock:
            return self._base_url


@dataclass(frozen=True)
class Acknowledged:
    """A write the service answered with 2xx: it must be in the stream, as answered."""

    shipment_id: str
    version: int
    body: dict[str, Any]


@dataclass(frozen=True)
class InDoubt:
    """A merge patch that got no answer: afterwards it must be absent or complete."""

    shipment_id: str
    expected_version: int
    patch: dict[str, Any]


@dataclass
class Ledger:
    """What all writers saw, shared between threads."""

    acknowledged: list[Acknowledged] = field(default_factory=list)
    in_doubt: list[InDoubt] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def acknowledge(self, response: httpx.Response) -> dict[str, Any]:
        """Record the answer; returns a copy of its body for the writer to keep."""
        body: dict[str, Any] = response.json()
        with self.lock:
            self.acknowledged.append(Acknowledged(body["id"], body["version"], body))
        return dict(body)

    def doubt(self, shipment: dict[str, Any], patch: dict[str, Any]) -> None:
        with self.lock:
            self.in_doubt.append(InDoubt(shipment["id"], shipment["version"] + 1, patch))

    def acknowledged_count(self) -> int:
        with self.lock:
            return len(self.acknowledged)


class Writer(threading.Thread):
    """Creates a few shipments, then merge-patches them in turn until told to stop."""

    def __init__(
        self, number: int, address: ServerAddress, ledger: Ledger, stop: threading.Event
    ) -> None:
        super().__init__(name=f"writer-{number}", daemon=True)
        self.number = number
        self.address = address
        self.ledger = ledger
        self.stop = stop
        self.shipments: list[dict[str, Any]] = []
        self.failure: BaseException | None = None

    def run(self) -> None:
        try:
            with httpx.Client(timeout=10.0) as client:
                step = 0
                while not self.stop.is_set():
                    if step % 10 == 0:
                        self._create(client)
                    if self.shipments:
                        self._patch(client, self.shipments[step % len(self.shipments)], step)
                    step += 1
        except BaseException as error:  # noqa: BLE001 - reported by the test
            self.failure = error

    def _create(self, client: httpx.Client) -> None:
        """POST with an Idempotency-Key, retried with the same key until answered."""
        key = f"create-{self.number}-{uuid.uuid4().hex}"
        while not self.stop.is_set():
            response = self._send(client, "POST", "/v1/shipments", NEW_SHIPMENT, key=key)
            if response is not None and response.status_code == 201:
                self.shipments.append(self.ledger.acknowledge(response))
                return
            if response is not None and response.status_code < 500:
                raise AssertionError(f"create refused: {response.status_code} {response.text}")

    def _patch(self, client: httpx.Client, shipment: dict[str, Any], step: int) -> None:
        patch = {"customerRemarks": f"w{self.number}-s{step}", "weightLbs": step % 9999 + 1}
        path = f"/v1/shipments/{shipment['id']}"
        response = self._send(client, "PATCH", path, patch, if_match=shipment["eTag"])
        if response is not None and response.status_code == 200:
            shipment.update(self.ledger.acknowledge(response))
            return
        if response is not None and response.status_code < 500:
            raise AssertionError(f"patch refused: {response.status_code} {response.text}")
        self.ledger.doubt(shipment, patch)
        self._resynchronise(client, shipment)

    def _resynchronise(self, client: httpx.Client, shipment: dict[str, Any]) -> None:
        """Read the shipment again once the service answers (the patch may have landed)."""
        while not self.stop.is_set():
            response = self._send(client, "GET", f"/v1/shipments/{shipment['id']}")
            if response is not None and response.status_code == 200:
                shipment.update(response.json())
                return

    def _send(
        self,
        client: httpx.Client,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        key: str | None = None,
        if_match: str | None = None,
    ) -> httpx.Response | None:
        """The answer, or None when the server is down or the connection dropped."""
        base_url = self.address.get()
        if base_url is None:
            time.sleep(0.05)
            return None
        headers = {"Content-Type": MERGE_PATCH if method == "PATCH" else "application/json"}
        if key is not None:
            headers["Idempotency-Key"] = key
        if if_match is not None:
            headers["If-Match"] = if_match
        try:
            return client.request(method, base_url + path, json=body, headers=headers)
        except httpx.TransportError:
            time.sleep(0.05)
            return None
