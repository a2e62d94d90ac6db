"""Events recorded in an older form still read: ``Revised`` gained ``previous`` in version 2,
and ``based_on`` in version 3; ``StatusChanged`` gained ``based_on`` in version 2.

The records below are written straight into the store exactly as earlier
versions of the service stored them (the first: no ``previous``, no
``class_version``; the second: ``Revised`` at class version 2), then read back
through the API: the library upcasts them on the way out.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from eventsourcing.persistence import StoredEvent
from fastapi.testclient import TestClient

from api.wiring import Services
from projections.version_tags import encode_tag

CREATED = "domain.shipment:Shipment.Created"
REVISED = "domain.shipment:Shipment.Revised"
STATUS_CHANGED = "domain.shipment:Shipment.StatusChanged"


def _at(instant: str) -> str:
    return '{"_type_":"datetime_iso","_data_":"' + instant + '"}'


def _status(value: str) -> str:
    return '{"_type_":"status","_data_":"' + value + '"}'


# Version 1 of each event, byte for byte as the first release wrote them.
OLD_RECORDS: list[tuple[str, str]] = [
    (
        CREATED,
        '{"timestamp":' + _at("2020-05-01T18:56:13.369174+00:00") + ","
        '"originator_topic":"domain.shipment:Shipment",'
        '"details":{"_type_":"shipment_details","_data_":{'
        '"shipment_type":{"_type_":"shipment_type","_data_":"UHAUL"},'
        '"requested_pickup_date":{"_type_":"date_iso","_data_":"2020-05-28"},'
        '"delivery_date":null,"pickup_address":null,'
        '"destination_address":{"_type_":"address","_data_":{'
        '"street_address1":"812 S 129th Street","city":"San Diego","state":"CA",'
        '"postal_code":"92102","street_address2":null}},'
        '"weight_lbs":null,"customer_remarks":null}},'
        '"actor":"legacy-importer","request_id":"old-1"}',
    ),
    (
        REVISED,
        '{"timestamp":' + _at("2020-05-02T09:12:44.001200+00:00") + ","
        '"changes":{"weight_lbs":4200},"new_status":null,'
        '"actor":"clerk","request_id":"old-2"}',
    ),
    (
        STATUS_CHANGED,
        '{"timestamp":' + _at("2020-05-03T10:00:00.000000+00:00") + ","
        '"old_status":' + _status("DRAFT") + ',"new_status":' + _status("SUBMITTED") + ","
        '"actor":"clerk","request_id":"old-3"}',
    ),
    (
        REVISED,
        '{"timestamp":' + _at("2020-05-04T11:30:00.500000+00:00") + ","
        '"changes":{"customer_remarks":"call first"},"new_status":' + _status("APPROVED") + ","
        '"actor":"approver","request_id":"old-4"}',
    ),
]


# ``Revised`` at class version 2 (with ``previous``, before ``based_on``), as the second
# release wrote it, after the first release's Created and StatusChanged.
SECOND_RELEASE_RECORDS: list[tuple[str, str]] = [
    OLD_RECORDS[0],
    (
        REVISED,
        '{"timestamp":' + _at("2020-05-02T09:12:44.001200+00:00") + ","
        '"changes":{"weight_lbs":4200},"new_status":' + _status("SUBMITTED") + ","
        '"actor":"clerk","request_id":"v2-2",'
        '"previous":{"weight_lbs":null,"status":' + _status("DRAFT") + "},"
        '"class_version":2}',
    ),
    OLD_RECORDS[2],
]


def _insert(services: Services, records: list[tuple[str, str]]) -> str:
    shipment_id = uuid.uuid4()
    services.store.recorder.insert_events(
        [
            StoredEvent(
                originator_id=shipment_id,
                originator_version=version,
                topic=topic,
                state=state.encode(),
            )
            for version, (topic, state) in enumerate(records, start=1)
        ]
    )
    return str(shipment_id)


@pytest.fixture
def old_shipment(services: Services) -> str:
    """A shipment whose four events were recorded by the first release."""
    return _insert(services, OLD_RECORDS)


@pytest.fixture
def second_release_shipment(services: Services) -> str:
    """A shipment whose ``Revised`` event was recorded at class version 2."""
    return _insert(services, SECOND_RELEASE_RECORDS)


def test_old_events_replay_into_every_version(client: TestClient, old_shipment: str) -> None:
    versions = [
        client.get(f"/v1/shipments/{old_shipment}/versions/{n}").json() for n in (1, 2, 3, 4)
    ]

    assert [v["version"] for v in versions] == [1, 2, 3, 4]
    assert [v["eTag"] for v in versions] == [
        encode_tag(uuid.UUID(old_shipment), n) for n in (1, 2, 3, 4)
    ]
    assert [v["status"] for v in versions] == ["DRAFT", "DRAFT", "SUBMITTED", "APPROVED"]
    assert [v["weightLbs"] for v in versions] == [None, 4200, 4200, 4200]
    assert versions[3]["customerRemarks"] == "call first"
    assert versions[0]["destinationAddress"]["city"] == "San Diego"
    assert versions[0]["createdAt"] == "2020-05-01T18:56:13.369174Z"
    assert versions[3]["updatedAt"] == "2020-05-04T11:30:00.500000Z"


def test_old_events_have_a_full_history(client: TestClient, old_shipment: str) -> None:
    items = client.get(f"/v1/shipments/{old_shipment}/history").json()["items"]

    assert [(i["type"], i["actor"], i["requestId"]) for i in items] == [
        ("Created", "legacy-importer", "old-1"),
        ("Revised", "clerk", "old-2"),
        ("StatusChanged", "clerk", "old-3"),
        ("Revised", "approver", "old-4"),
    ]
    assert items[1]["changes"] == {"weightLbs": {"from": None, "to": 4200}}
    assert [i["basedOn"] for i in items] == [None, None, None, None]
    assert items[3]["changes"] == {
        "status": {"from": "SUBMITTED", "to": "APPROVED"},
        "customerRemarks": {"from": None, "to": "call first"},
    }


def test_old_revisions_show_previous_as_unknown_in_the_feed(
    client: TestClient, old_shipment: str
) -> None:
    items = client.get("/v1/events").json()["items"]
    revisions = [item["data"] for item in items if item["type"] == "Revised"]

    assert [r["previous"] for r in revisions] == [None, None]
    assert revisions[0]["changes"] == {"weightLbs": 4200}


def test_as_of_finds_old_events_by_their_recorded_instant(
    client: TestClient, old_shipment: str
) -> None:
    during_review = client.get(
        f"/v1/shipments/{old_shipment}", params={"asOf": "2020-05-03T12:00:00+02:00"}
    )

    assert during_review.json()["version"] == 3
    assert during_review.json()["status"] == "SUBMITTED"


def test_a_shipment_with_old_events_takes_new_writes_in_the_new_form(
    client: TestClient, old_shipment: str
) -> None:
    tag = encode_tag(uuid.UUID(old_shipment), 4)
    response = client.patch(
        f"/v1/shipments/{old_shipment}",
        json={"weightLbs": 4400},
        headers={"If-Match": f'"{tag}"'},
    )
    newest: dict[str, Any] = client.get("/v1/events").json()["items"][-1]

    assert response.status_code == 200, response.text
    assert response.json()["version"] == 5
    assert newest["data"]["previous"] == {"weightLbs": 4200}
    assert client.get(f"/v1/shipments/{old_shipment}").json() == response.json()


def test_revisions_of_the_second_release_read_with_based_on_unknown(
    client: TestClient, second_release_shipment: str
) -> None:
    url = f"/v1/shipments/{second_release_shipment}"
    items = client.get(f"{url}/history").json()["items"]
    feed = [i["data"] for i in client.get("/v1/events").json()["items"] if i["type"] != "Created"]

    assert [(i["type"], i["basedOn"]) for i in items] == [
        ("Created", None),
        ("Revised", None),
        ("StatusChanged", None),
    ]
    assert items[1]["changes"] == {
        "status": {"from": "DRAFT", "to": "SUBMITTED"},
        "weightLbs": {"from": None, "to": 4200},
    }
    assert [f["basedOn"] for f in feed] == [None, None]
    assert feed[0]["previous"] == {"weightLbs": None, "status": "DRAFT"}
    assert client.get(f"{url}/versions/3").json()["status"] == "SUBMITTED"


def test_a_stale_write_merges_onto_a_stream_of_old_events(
    client: TestClient, old_shipment: str
) -> None:
    response = client.patch(
        f"/v1/shipments/{old_shipment}",
        json={"deliveryDate": "2020-06-01"},
        headers={
            "If-Match": f'"{encode_tag(uuid.UUID(old_shipment), 2)}"',
            "Prefer": "conflict=merge",
        },
    )
    newest = client.get(f"/v1/shipments/{old_shipment}/history?after=4").json()["items"]

    assert response.status_code == 200, response.text
    assert (response.json()["version"], response.json()["status"]) == (5, "APPROVED")
    assert [(i["version"], i["basedOn"]) for i in newest] == [(5, 2)]
