"""A property of the HTTP merge over random histories and requests, on each store: a stale
PATCH with ``Prefer: conflict=merge`` is applied iff the fields it changes (relative to the
version it read) were left alone since and the rules allow the result, which is then the
current state with those fields applied. (``tests/unit/test_merging.py`` explores the
decision itself far more widely, without I/O.)"""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.conftest import current, patch, problem_of, url

AUSTIN = {
    "streetAddress1": "1 Main St",
    "streetAddress2": "Unit 2",
    "city": "Austin",
    "state": "TX",
    "postalCode": "73301",
}
VALUES: dict[str, list[Any]] = {
    "requestedPickupDate": [None, "2020-05-01", "2020-06-01"],
    "deliveryDate": [None, "2020-05-15", "2020-06-15"],
    "pickupAddress": [None, AUSTIN],
    "weightLbs": [None, 100, 200],
    "customerRemarks": [None, "fragile", "call first"],
    "status": ["SUBMITTED", "APPROVED", "CANCELED"],
}
NEXT = {"DRAFT": "SUBMITTED", "SUBMITTED": "APPROVED", "APPROVED": "IN_TRANSIT"}

patches = st.dictionaries(st.sampled_from(list(VALUES)), st.none(), min_size=1).flatmap(
    lambda chosen: st.fixed_dictionaries({name: st.sampled_from(VALUES[name]) for name in chosen})
)


def expected_status(before: dict[str, Any], merged: dict[str, Any]) -> int:
    """What the rules answer to ``merged`` on the state ``before`` (fields already checked)."""
    pickup, delivery = merged["requestedPickupDate"], merged["deliveryDate"]
    if pickup is not None and delivery is not None and delivery < pickup:
        return 422
    if before["status"] in ("DELIVERED", "CANCELED"):
        return 409
    moved = merged["status"] != before["status"]
    legal = merged["status"] == "CANCELED" or NEXT.get(before["status"]) == merged["status"]
    return 409 if moved and not legal else 200


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(history=st.lists(patches, max_size=3), request=patches)
def test_a_stale_patch_is_merged_iff_its_fields_are_untouched_and_the_rules_allow_it(
    client: TestClient,
    new_shipment: dict[str, Any],
    history: list[dict[str, Any]],
    request: dict[str, Any],
) -> None:
    base = client.post("/v1/shipments", json=new_shipment).json()
    document, changed_since = base, set()
    for changes in history:
        response = patch(client, document, changes)
        if response.status_code == 200:
            after = response.json()
            changed_since |= {name for name in VALUES if after[name] != document[name]}
            document = after
    before = current(client, base)
    mine = {name for name, value in request.items() if value != base[name]}
    merged = {**before, **{name: request[name] for name in mine}}

    response = patch(client, base, request, Prefer="conflict=merge")

    if before["version"] == base["version"]:  # nothing happened since: a plain write
        assert response.status_code in (200, 409, 422), response.text
        return
    if mine & changed_since:
        assert problem_of(response, 412)["conflictingFields"] == sorted(mine & changed_since)
        assert current(client, base) == before
        return
    status = 200 if not mine else expected_status(before, merged)
    assert response.status_code == status, response.text
    if status != 200:
        assert current(client, base) == before
        return
    after = current(client, base)
    assert after == response.json()
    assert {name: after[name] for name in VALUES} == {name: merged[name] for name in VALUES}
    assert after["version"] == before["version"] + (1 if mine else 0)
    if mine:
        history_item = client.get(f"{url(base)}/history", params={"after": before["version"]})
        assert history_item.json()["items"][0]["basedOn"] == base["version"]
