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


def seed_stale_shipments(
    base_url: str,
    count: int,
    headers: Mapping[str, str] | None = None,
    concurrency: int = 32,
) -> list[tuple[str, str]]:
    """Create ``count`` shipments and move each past version 1; each id with its version-1 tag.

    The stale-write load sends these tags, so every PATCH of it must be answered 412.
    Each shipment is read back to be sure: a version above 1 and an ETag other than
    the one kept. Raises SeedingFailed otherwise.
    """
    return asyncio.run(_create_stale(base_url, count, dict(headers or {}), concurrency))


def write_tags(tags_file: Path, tags: list[str]) -> None:
    """One If-Match value a line, in the order of the ids file: what patch-stale reads."""
    tags_file.write_text("\n".join(tags) + "\n")


async def _create_stale(
    base_url: str, count: int, headers: dict[str, str], concurrency: int
) -> list[tuple[str, str]]:
    remaining = iter(range(count))
    stale: list[tuple[str, str]] = []

    async def creator(client: httpx.AsyncClient) -> None:
        for _ in remaining:
            created = await client.post("/v1/shipments", json=NEW_SHIPMENT, headers=headers)
            if created.status_code != 201 or "etag" not in created.headers:
                raise SeedingFailed(f"POST answered {created.status_code}: {created.text[:300]}")
            shipment_id, first_tag = created.json()["id"], created.headers["etag"]
            path = f"/v1/shipments/{shipment_id}"
            moved = await client.patch(
                path,
                content=b'{"customerRemarks":"moved past version 1"}',
                headers={
                    **headers,
                    "If-Match": first_tag,
                    "Content-Type": "application/merge-patch+json",
                },
            )
            if moved.status_code != 200:
                raise SeedingFailed(f"PATCH answered {moved.status_code}: {moved.text[:300]}")
            current = await client.get(path, headers=headers)
            if (
                current.status_code != 200
                or int(current.json()["version"]) < 2
                or current.headers.get("etag") == first_tag
            ):
                raise SeedingFailed(f"{path} is not past version 1: {current.text[:300]}")
            stale.append((shipment_id, first_tag))

    async with httpx.AsyncClient(base_url=base_url, timeout=30.0) as client:
        await asyncio.gather(*(creator(client) for _ in range(concurrency)))
    return stale
