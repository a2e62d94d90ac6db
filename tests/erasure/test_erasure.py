"""Erasing a shipment's personal data: every read of the past forgets it, the audit trail stays."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import create, patch, quoted, url
from tests.erasure.conftest import (
    OTHER_REMARKS,
    SECRETS,
    database_dump,
    every_answer,
    found_secrets,
    history_without_changes,
    ok,
    write_every_kind_of_event,
)


def erase(client: TestClient, document: dict[str, Any], if_match: str | None = "*") -> Any:
    headers = {} if if_match is None else {"If-Match": if_match}
    return client.delete(f"{url(document)}/personal-data", headers=headers)


def test_erasure_answers_the_representation_with_the_personal_fields_erased(
    erasure_client: TestClient,
) -> None:
    stream = write_every_kind_of_event(erasure_client)
    assert stream.document["personalDataErasedAt"] is None

    erased = ok(erase(erasure_client, stream.document, quoted(stream.document)))

    assert erased["version"] == stream.document["version"] + 1
    assert erased["pickupAddress"] == {"state": "TX"}
    assert erased["destinationAddress"] == {"state": "CA"}
    assert erased["customerRemarks"] is None
    assert erased["personalDataErasedAt"] == erased["updatedAt"]
    unchanged = ("status", "shipmentType", "deliveryDate", "weightLbs", "createdAt", "id")
    assert {k: erased[k] for k in unchanged} == {k: stream.document[k] for k in unchanged}
    assert ok(erasure_client.get(url(stream.document))) == erased


def test_every_read_of_the_past_forgets_the_values_and_keeps_the_audit_trail(
    erasure_client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    stream = write_every_kind_of_event(erasure_client)
    assert set(found_secrets(every_answer(erasure_client, stream))) == set(SECRETS)
    trail_before = history_without_changes(erasure_client, stream)
    versions_before = [
        ok(erasure_client.get(f"{url(stream.document)}/versions/{n}"))
        for n in range(1, stream.document["version"] + 1)
    ]

    erased = ok(erase(erasure_client, stream.document))

    assert found_secrets(every_answer(erasure_client, stream)) == []
    trail_after = history_without_changes(erasure_client, stream)
    assert trail_after[:-1] == trail_before
    assert trail_after[-1]["type"] == "PersonalDataErased"
    assert trail_after[-1]["version"] == erased["version"]
    for before in versions_before:
        after = ok(erasure_client.get(f"{url(stream.document)}/versions/{before['version']}"))
        personal = ("pickupAddress", "destinationAddress", "customerRemarks")
        assert {k: v for k, v in after.items() if k not in personal} == {
            k: v for k, v in before.items() if k not in personal
        }
        assert after["customerRemarks"] is None
    assert found_secrets(caplog.text) == []


def test_history_marks_each_erased_change(erasure_client: TestClient) -> None:
    stream = write_every_kind_of_event(erasure_client)
    ok(erase(erasure_client, stream.document))

    items = ok(erasure_client.get(f"{url(stream.document)}/history"))["items"]
    created, replaced = items[0], items[1]
    erased_change = {"from": None, "to": None, "erased": True}
    assert created["changes"]["customerRemarks"] == erased_change
    assert created["changes"]["pickupAddress"] == erased_change
    assert created["changes"]["deliveryDate"] == {"from": None, "to": "2026-12-01"}
    assert replaced["changes"]["customerRemarks"] == erased_change
    assert replaced["changes"]["weightLbs"] == {"from": None, "to": 1000}
    assert "erased" not in items[-2]["changes"].get("status", {})


def test_a_stale_write_after_erasure_shows_only_erased_changes(
    erasure_client: TestClient,
) -> None:
    stream = write_every_kind_of_event(erasure_client)
    first = ok(erasure_client.get(f"{url(stream.document)}/versions/1"))
    ok(erase(erasure_client, stream.document))

    stale = patch(erasure_client, first, {"weightLbs": 5})

    assert stale.status_code == 412
    assert found_secrets(stale.text) == []
    assert stale.json()["changesSince"][-1]["type"] == "PersonalDataErased"


def test_writes_after_erasure_work_and_may_set_new_personal_data(
    erasure_client: TestClient,
) -> None:
    stream = write_every_kind_of_event(erasure_client)
    erased = ok(erase(erasure_client, stream.document))

    weighed = ok(patch(erasure_client, erased, {"weightLbs": 3000}))
    assert weighed["pickupAddress"] == {"state": "TX"}
    remarked = ok(patch(erasure_client, weighed, {"customerRemarks": "a new remark"}))
    assert ok(erasure_client.get(url(stream.document)))["customerRemarks"] == "a new remark"
    again = ok(erasure_client.get(f"{url(stream.document)}/versions/{remarked['version']}"))
    assert again["customerRemarks"] == "a new remark"
    assert again["personalDataErasedAt"] == erased["personalDataErasedAt"]

    second = ok(erase(erasure_client, remarked))
    assert second["customerRemarks"] is None
    versions = f"{url(stream.document)}/versions/{remarked['version']}"
    assert ok(erasure_client.get(versions))["customerRemarks"] is None


def test_other_shipments_keep_their_personal_data(erasure_client: TestClient) -> None:
    other = ok(
        create(
            erasure_client,
            {"shipmentType": "PPM", "deliveryDate": "2026-01-01", "customerRemarks": OTHER_REMARKS},
        ),
        201,
    )
    stream = write_every_kind_of_event(erasure_client)
    ok(erase(erasure_client, stream.document))

    assert ok(erasure_client.get(url(other)))["customerRemarks"] == OTHER_REMARKS
    assert ok(erasure_client.get(f"{url(other)}/versions/1"))["customerRemarks"] == OTHER_REMARKS
    assert OTHER_REMARKS in erasure_client.get("/v1/events").text


def test_no_erased_value_is_left_in_a_dump_of_the_database(
    erasure_client: TestClient, database_url: str
) -> None:
    create(
        erasure_client,
        {"shipmentType": "PPM", "deliveryDate": "2026-01-01", "customerRemarks": OTHER_REMARKS},
    )
    stream = write_every_kind_of_event(erasure_client)
    ok(erase(erasure_client, stream.document))

    dump = database_dump(database_url)

    assert found_secrets(dump) == []
    # The view row keeps today's plaintext of the others: the search does find values.
    assert found_secrets(dump, (OTHER_REMARKS,)) == [OTHER_REMARKS]


def test_erasure_needs_if_match_and_a_current_tag(erasure_client: TestClient) -> None:
    stream = write_every_kind_of_event(erasure_client)
    first = ok(erasure_client.get(f"{url(stream.document)}/versions/1"))

    assert erase(erasure_client, stream.document, None).status_code == 428
    stale = erase(erasure_client, stream.document, quoted(first))
    assert stale.status_code == 412
    assert stale.json()["currentVersion"] == stream.document["version"]
    missing = {**stream.document, "id": "00000000-0000-4000-8000-000000000000"}
    assert erase(erasure_client, missing).status_code == 404
    assert ok(erasure_client.get(url(stream.document)))["customerRemarks"] == "the dog bites"
