"""A small HTTP client for the shipment API whose answers can cross process boundaries.

Client processes are started with ``spawn``, so everything here is importable at
module level and every result is a plain, picklable dataclass.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

MERGE_PATCH = "application/merge-patch+json"
TIMEOUT_SECONDS = 60.0  # Generous: a busy 2-core machine must not turn into a failure.


@dataclass(frozen=True)
class Answer:
    """One HTTP answer: status, ETag header, JSON body and which server gave it."""

    status: int
    etag: str | None
    body: dict[str, Any]
    server: str
    preference_applied: str | None = None

    def describe(self) -> str:
        return f"{self.status} from {self.server}: {self.body}"


class ShipmentClient:
    """One keep-alive connection to one server; not shared between threads."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self._http = httpx.Client(base_url=base_url, timeout=TIMEOUT_SECONDS)

    def __enter__(self) -> ShipmentClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._http.close()

    def connect(self) -> None:
        """Open the connection now, so a later request goes out without a handshake."""
        self._http.get("/healthz").raise_for_status()

    def create(self, body: dict[str, Any]) -> Answer:
        return self._answer(self._http.post("/v1/shipments", json=body))

    def get(self, shipment_id: str) -> Answer:
        return self._answer(self._http.get(f"/v1/shipments/{shipment_id}"))

    def patch(
        self, shipment_id: str, if_match: str, patch: dict[str, Any], prefer: str | None = None
    ) -> Answer:
        headers = {"If-Match": if_match, "Content-Type": MERGE_PATCH}
        if prefer is not None:
            headers["Prefer"] = prefer
        response = self._http.patch(f"/v1/shipments/{shipment_id}", json=patch, headers=headers)
        return self._answer(response)

    def _answer(self, response: httpx.Response) -> Answer:
        body: dict[str, Any] = response.json() if response.content else {}
        return Answer(
            response.status_code,
            response.headers.get("ETag"),
            body,
            self.base_url,
            response.headers.get("Preference-Applied"),
        )
