"""Create the shipments a load runs against, through the system's own HTTP API.

Both systems are seeded with the same body through ``POST /v1/shipments``, so
they start from equal documents; the ids are written one per line to a file
that the load generators read.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

NEW_SHIPMENT: dict[str, Any] = {
    "shipmentType": "UHAUL",
    "requestedPickupDate": "2020-05-28",
    "deliveryDate": "2020-06-01",
    "destinationAddress": {
        "streetAddress1": "812 S 129th Street",
        "city": "San Diego",
        "state": "CA",
        "postalCode": "92102",
    },
    "weightLbs": 4200,
}


class SeedingFailed(RuntimeError):
    """A create was refused: the benchmark would measure errors, not work."""


def seed_shipments(
    base_url: str,
    count: int,
    ids_file: Path | None = None,
    headers: Mapping[str, str] | None = None,
    concurrency: int = 32,
    body: Mapping[str, Any] | None = None,
) -> list[str]:
    """Create ``count`` shipments (``body``, by default NEW_SHIPMENT); write their ids."""
    ids = asyncio.run(
        _create_all(base_url, count, dict(headers or {}), concurrency, dict(body or NEW_SHIPMENT))
    )
    if ids_file is not None:
        write_ids(ids_file, ids)
    return ids


def write_ids(ids_file: Path, ids: list[str]) -> None:
    """One id a line: what the load generators read."""
    ids_file.write_text("\n".join(ids) + "\n")


async def _create_all(
    base_url: str, count: int, headers: dict[str, str], concurrency: int, body: dict[str, Any]
) -> list[str]:
    remaining = iter(range(count))
    ids: list[str] = []

    async def creator(client: httpx.AsyncClient) -> None:
        for _ in remaining:
            answer = await client.post("/v1/shipments", json=body, headers=headers)
            if answer.status_code != 201:
                raise SeedingFailed(f"POST answered {answer.status_code}: {answer.text[:300]}")
            ids.append(answer.json()["id"])

    async with httpx.AsyncClient(base_url=base_url, timeout=30.0) as client:
        await asyncio.gather(*(creator(client) for _ in range(concurrency)))
    return ids
