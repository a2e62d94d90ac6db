"""The contended shipments of the read-modify-write loads, and the lost-update check.

Each contended shipment is seeded with one counter per field group (the wrk
script's groups): ``weightLbs`` (weight), ``customerRemarks`` "rmw N" (remarks),
``requestedPickupDate`` as days since 2020-01-01 with ``deliveryDate`` three days
later (dates), and ``pickupAddress.streetAddress1`` "N Bench Street" (address).
A client PATCHes a counter to the value it read plus one, with the ETag it read,
so in a system without lost updates every successful PATCH adds exactly one.

After a run, for every shipment and group, (final counter - initial counter)
must equal the successful PATCHes the generator counted; the version must have
grown by exactly the number of counter increments (every accepted PATCH changes
one counter). ``account`` turns the differences into lost updates.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx

from bench.workloads import FIELD_GROUPS

DATES_EPOCH = date(2020, 1, 1)
# weightLbs must stay in 1..100000: reset the counter between runs when it gets this high.
WEIGHT_RESET_ABOVE = 50_000

CONTENDED_SHIPMENT: dict[str, Any] = {
    "shipmentType": "HHG",
    "requestedPickupDate": DATES_EPOCH.isoformat(),
    "deliveryDate": "2020-01-04",
    "pickupAddress": {
        "streetAddress1": "0 Bench Street",
        "city": "Austin",
        "state": "TX",
        "postalCode": "78701",
    },
    "destinationAddress": {
        "streetAddress1": "812 S 129th Street",
        "city": "San Diego",
        "state": "CA",
        "postalCode": "92102",
    },
    "weightLbs": 1,
    "customerRemarks": "rmw 0",
}


@dataclass(frozen=True)
class Snapshot:
    """One shipment's version and field-group counters, as a GET answered them."""

    version: int
    counters: Mapping[str, int]


def counters_of(document: Mapping[str, Any]) -> Snapshot:
    """Read the counters from a shipment's representation."""
    pickup = date.fromisoformat(document["requestedPickupDate"])
    return Snapshot(
        version=int(document["version"]),
        counters={
            "weight": int(document["weightLbs"]),
            "remarks": int(str(document["customerRemarks"]).split()[1]),
            "dates": (pickup - DATES_EPOCH).days,
            "address": int(str(document["pickupAddress"]["streetAddress1"]).split()[0]),
        },
    )


def read_snapshots(
    base_url: str, ids: Sequence[str], headers: Mapping[str, str] | None = None
) -> list[Snapshot]:
    """GET every contended shipment (in ids-file order) and read its counters."""
    snapshots = []
    with httpx.Client(base_url=base_url, headers=dict(headers or {}), timeout=30.0) as client:
        for shipment_id in ids:
            answer = client.get(f"/v1/shipments/{shipment_id}")
            answer.raise_for_status()
            snapshots.append(counters_of(answer.json()))
    return snapshots


def reset_high_weights(
    base_url: str,
    ids: Sequence[str],
    snapshots: Sequence[Snapshot],
    headers: Mapping[str, str] | None = None,
) -> bool:
    """Set weightLbs back to 1 where it nears its limit (between runs); True if it did."""
    high = [i for i, s in enumerate(snapshots) if s.counters["weight"] > WEIGHT_RESET_ABOVE]
    patch_headers = {
        **(headers or {}),
        "If-Match": "*",
        "Content-Type": "application/merge-patch+json",
    }
    with httpx.Client(base_url=base_url, timeout=30.0) as client:
        for index in high:
            answer = client.patch(
                f"/v1/shipments/{ids[index]}", content=b'{"weightLbs":1}', headers=patch_headers
            )
            answer.raise_for_status()
    return bool(high)


@dataclass(frozen=True)
class Accounting:
    """The lost-update check of one read-modify-write run."""

    lost_updates: int  # successes the counters do not show (must be 0)
    unexplained_increments: int  # increments no success or unknown outcome explains
    unknown_outcomes: int  # PATCHes that may or may not have been applied
    per_shipment: list[dict[str, Any]]


def account(
    before: Sequence[Snapshot],
    after: Sequence[Snapshot],
    successes: Mapping[str, int],
    unknown: Mapping[str, int],
    groups: Sequence[str] = FIELD_GROUPS,
) -> Accounting:
    """Compare the counters' growth with the PATCHes the generator saw succeed.

    ``successes`` and ``unknown`` are keyed ``"<1-based index>.<group>"``. For each
    shipment x and group g, with S successes, U unknown outcomes and C = counter
    growth: a correct system has S <= C <= S + U (an unknown PATCH may have been
    applied), and its version grew by the sum of C over the groups (each accepted
    PATCH moves one counter by one). Lost updates of x are the larger of
    sum(max(0, S - C)) (successes the counters do not show — exactly the sum of
    S - C when no outcome is unknown) and version growth - sum(C) (accepted writes
    whose effect is gone, which also catches a loss hidden by an unknown PATCH
    that was applied).
    """
    if len(before) != len(after):
        raise ValueError("before and after must describe the same shipments")
    lost = unexplained = unknown_total = 0
    per_shipment = []
    for position, (old, new) in enumerate(zip(before, after, strict=True)):
        index = position + 1
        shortfall = excess = counted = 0
        growth_total = 0
        detail: dict[str, Any] = {"index": index, "version_growth": new.version - old.version}
        for group in groups:
            key = f"{index}.{group}"
            succeeded = successes.get(key, 0)
            maybe = unknown.get(key, 0)
            growth = new.counters[group] - old.counters[group]
            growth_total += growth
            counted += succeeded
            unknown_total += maybe
            shortfall += max(0, succeeded - growth)
            excess += max(0, growth - succeeded - maybe)
            if succeeded or maybe or growth:
                detail[group] = {"successes": succeeded, "unknown": maybe, "growth": growth}
        shipment_lost = max(shortfall, new.version - old.version - growth_total, 0)
        detail.update(successes=counted, lost_updates=shipment_lost, unexplained=excess)
        lost += shipment_lost
        unexplained += excess
        per_shipment.append(detail)
    return Accounting(lost, unexplained, unknown_total, per_shipment)
