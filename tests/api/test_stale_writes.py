"""API.md "When a write is stale": every stale-tag 412 says what changed since the version
the client named (``changesSince``), and ``Prefer: conflict=merge`` applies a stale write
whose fields nobody else changed, on the current state, under every domain rule."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from api.http.app import create_app
from application import stale_writes
from application.stale_writes import read_changes
from infrastructure.settings import Settings
from projections.version_tags import encode_tag
from tests.api.conftest import (
    current,
    patch,
    problem_of,
    put,
    quoted,
    stored_events,
    url,
    writable,
)

MERGE = {"Prefer": "conflict=merge"}
AUSTIN = {"streetAddress1": "1 Main St", "city": "Austin", "state": "TX", "postalCode": "73301"}


def patched(client: TestClient, document: dict[str, Any], changes: dict[str, Any]) -> Any:
    """The representation after a PATCH with ``document``'s (current) tag."""
    response = patch(client, document, changes)
    assert response.status_code == 200, response.text
    return response.json()


def history_after(client: TestClient, document: dict[str, Any], after: int) -> list[Any]:
    items: list[Any] = client.get(f"{url(document)}/history", params={"after": after}).json()[
        "items"
    ]
    return items


# --- changesSince on every stale 412 -------------------------------------------------------


@pytest.mark.parametrize("write", [put, patch], ids=["PUT", "PATCH"])
def test_a_stale_write_is_412_with_the_history_items_since_the_version_it_named(
    client: TestClient, shipment: dict[str, Any], write: Any
) -> None:
    newer = patched(client, shipment, {"weightLbs": 10})
    newest = patched(client, newer, {"status": "SUBMITTED"})

    response = write(client, shipment, {**writable(shipment), "customerRemarks": "late"})

    problem = problem_of(response, 412)
    assert problem["currentVersion"] == newest["version"] == 3
    assert problem["changesSince"] == history_after(client, shipment, 1)
    assert [item["version"] for item in problem["changesSince"]] == [2, 3]
    assert problem["changesSinceComplete"] is True
    assert "conflictingFields" not in problem
    assert current(client, shipment) == newest


def test_a_stale_if_match_list_is_answered_from_the_newest_version_it_names(
    client: TestClient, shipment: dict[str, Any]
) -> None:
    second = patched(client, shipment, {"weightLbs": 10})
    patched(client, second, {"weightLbs": 11})

    response = patch(
        client, shipment, {"customerRemarks": "x"}, if_match=f"{quoted(shipment)}, {quoted(second)}"
    )

    assert [i["version"] for i in problem_of(response, 412)["changesSince"]] == [3]


@pytest.mark.parametrize(
    "tag", ["other-shipment", "weak", "garbage!!", '"abc', '"not-ours"'], ids=str
)
def test_a_tag_that_names_no_version_of_this_shipment_is_a_412_that_says_so(
    client: TestClient, shipment: dict[str, Any], other_shipment: dict[str, Any], tag: str
) -> None:
    patch(client, shipment, {"weightLbs": 5}, if_match=quoted(shipment))
    header = {
        "other-shipment": quoted(other_shipment),
        "weak": "W/" + quoted(shipment),
    }.get(tag, tag)

    response = patch(client, shipment, {"weightLbs": 10}, if_match=header)

    problem = problem_of(response, 412)
    assert "changesSince" not in problem and "changesSinceComplete" not in problem
    assert "names no version of this shipment" in problem["detail"]
    assert "changed" not in problem["detail"]
    assert problem["currentVersion"] == 2
    assert response.headers["ETag"] == quoted(client.get(f"/v1/shipments/{shipment['id']}").json())


def test_an_if_none_match_412_carries_no_changes(
    client: TestClient, shipment: dict[str, Any]
) -> None:
    response = put(client, shipment, writable(shipment), if_match=None, **{"If-None-Match": "*"})

    problem = problem_of(response, 412)
    assert "changesSince" not in problem and "changesSinceComplete" not in problem


def test_more_than_50_changes_since_are_cut_at_50_and_marked_incomplete(
    client: TestClient, shipment: dict[str, Any]
) -> None:
    document = shipment
    for weight in range(1, 53):
        document = patched(client, document, {"weightLbs": weight})

    response = patch(client, shipment, {"weightLbs": 999}, **MERGE)

    problem = problem_of(response, 412)
    assert [i["version"] for i in problem["changesSince"]] == list(range(2, 52))
    assert problem["changesSinceComplete"] is False
    assert problem["conflictingFields"] == ["weightLbs"]
    rest = history_after(client, shipment, problem["changesSince"][-1]["version"])
    assert [i["version"] for i in rest] == [52, 53] == [53 - 1, problem["currentVersion"]]


# --- Prefer: conflict=merge ----------------------------------------------------------------


def test_a_stale_patch_of_fields_nobody_changed_is_merged_onto_the_current_version(
    client: TestClient, shipment: dict[str, Any]
) -> None:
    theirs = patched(client, shipment, {"weightLbs": 10, "pickupAddress": AUSTIN})

    response = patch(client, shipment, {"customerRemarks": "mine"}, **MERGE)

    assert response.status_code == 200, response.text
    assert response.headers["Preference-Applied"] == "conflict=merge"
    merged = response.json()
    assert merged["version"] == theirs["version"] + 1
    assert response.headers["ETag"] == quoted(merged)
    assert (merged["weightLbs"], merged["pickupAddress"]["city"]) == (10, "Austin")
    assert merged["customerRemarks"] == "mine"
    assert current(client, shipment) == merged
    (item,) = history_after(client, shipment, theirs["version"])
    assert item["basedOn"] == shipment["version"]
    assert item["changes"] == {"customerRemarks": {"from": None, "to": "mine"}}


def test_an_overlapping_stale_patch_is_412_naming_the_conflicting_fields_and_appends_nothing(
    client: TestClient, shipment: dict[str, Any]
) -> None:
    theirs = patched(client, shipment, {"weightLbs": 10, "customerRemarks": "theirs"})
    events_before = len(stored_events(client, shipment["id"]))

    response = patch(
        client,
        shipment,
        {"weightLbs": 20, "customerRemarks": "mine", "deliveryDate": None},
        **MERGE,
    )

    problem = problem_of(response, 412)
    assert problem["conflictingFields"] == ["customerRemarks", "weightLbs"]
    assert problem["changesSince"] == history_after(client, shipment, 1)
    assert problem["currentETag"] == theirs["eTag"]
    assert "Preference-Applied" not in response.headers
    assert len(stored_events(client, shipment["id"])) == events_before
    assert current(client, shipment) == theirs


def test_a_patch_member_equal_to_the_version_read_is_no_change_and_overwrites_nothing(
    client: TestClient, shipment: dict[str, Any]
) -> None:
    patched(client, shipment, {"weightLbs": 10})

    response = patch(
        client, shipment, {"weightLbs": shipment["weightLbs"], "customerRemarks": "x"}, **MERGE
    )

    assert response.status_code == 200, response.text
    assert (response.json()["weightLbs"], response.json()["customerRemarks"]) == (10, "x")


def test_a_status_changed_since_conflicts_with_a_stale_status_change(
    client: TestClient, shipment: dict[str, Any]
) -> None:
    patched(client, shipment, {"status": "SUBMITTED"})

    response = patch(client, shipment, {"status": "CANCELED"}, **MERGE)

    assert problem_of(response, 412)["conflictingFields"] == ["status"]


def test_a_disjoint_merge_onto_a_shipment_canceled_since_is_409(
    client: TestClient, shipment: dict[str, Any]
) -> None:
    canceled = patched(client, shipment, {"status": "CANCELED"})

    response = patch(client, shipment, {"weightLbs": 10}, **MERGE)

    assert problem_of(response, 409)["type"] == "/problems/shipment-closed"
    assert current(client, shipment) == canceled


def test_a_merge_whose_result_breaks_a_rule_across_fields_is_422(
    client: TestClient, shipment: dict[str, Any]
) -> None:
    # Version 1 asks for pickup on 2020-05-28 and delivery on 2020-06-01.
    patched(client, shipment, {"requestedPickupDate": "2020-06-01"})

    response = patch(client, shipment, {"deliveryDate": "2020-05-30"}, **MERGE)

    assert problem_of(response, 422)["errors"][0]["field"] == "deliveryDate"


def test_a_stale_put_merges_only_the_fields_whose_value_it_changed(
    client: TestClient, shipment: dict[str, Any]
) -> None:
    theirs = patched(client, shipment, {"weightLbs": 10, "status": "SUBMITTED"})
    # The whole document as read at version 1, server-owned fields included, one field changed.
    body = {**shipment, "customerRemarks": "mine", "destinationAddress": AUSTIN}

    response = put(client, shipment, body, **MERGE)

    assert response.status_code == 200, response.text
    merged = response.json()
    assert (merged["weightLbs"], merged["status"]) == (10, "SUBMITTED")
    assert (merged["customerRemarks"], merged["destinationAddress"]["city"]) == ("mine", "Austin")
    assert merged["version"] == theirs["version"] + 1


def test_a_stale_put_clearing_a_field_someone_changed_conflicts(
    client: TestClient, shipment: dict[str, Any]
) -> None:
    patched(client, shipment, {"requestedPickupDate": "2020-05-20"})
    body = {k: v for k, v in writable(shipment).items() if k != "requestedPickupDate"}

    response = put(client, shipment, body, **MERGE)

    assert problem_of(response, 412)["conflictingFields"] == ["requestedPickupDate"]


@pytest.mark.parametrize(
    "prefer",
    [
        ["conflict=merge"],
        ['CONFLICT="Merge"'],
        ["return=minimal, conflict=merge; strict"],
        ["return=minimal", "conflict=merge"],
    ],
    ids=["plain", "quoted-case", "among-others", "two-lines"],
)
def test_the_preference_is_read_as_rfc_7240_writes_it(
    client: TestClient, shipment: dict[str, Any], prefer: list[str]
) -> None:
    patched(client, shipment, {"weightLbs": 10})
    headers = [("If-Match", quoted(shipment)), ("Content-Type", "application/merge-patch+json")]
    headers += [("Prefer", line) for line in prefer]

    response = client.patch(url(shipment), content=b'{"customerRemarks": "x"}', headers=headers)

    assert response.status_code == 200, response.text


def test_a_merge_that_changes_nothing_appends_nothing(
    client: TestClient, shipment: dict[str, Any]
) -> None:
    theirs = patched(client, shipment, {"weightLbs": 10})

    response = patch(client, shipment, {"customerRemarks": None}, **MERGE)

    assert response.status_code == 200, response.text
    assert response.json() == theirs


def test_a_stale_merge_with_a_malformed_body_is_the_stale_tag_412(
    client: TestClient, shipment: dict[str, Any]
) -> None:
    patched(client, shipment, {"weightLbs": 10})

    response = patch(client, shipment, {"weightLbs": "heavy"}, **MERGE)

    problem = problem_of(response, 412)
    assert "conflictingFields" not in problem and len(problem["changesSince"]) == 1


def test_an_idempotent_retry_of_a_merged_write_gets_its_original_answer(
    client: TestClient, shipment: dict[str, Any]
) -> None:
    patched(client, shipment, {"weightLbs": 10})
    key = {"Idempotency-Key": "merge-retry-1", **MERGE}
    first = patch(client, shipment, {"customerRemarks": "once"}, **key)
    patched(client, first.json(), {"weightLbs": 11})

    retry = patch(client, shipment, {"customerRemarks": "once"}, **key)

    assert first.status_code == retry.status_code == 200, retry.text
    assert retry.content == first.content
    assert retry.headers["ETag"] == first.headers["ETag"]
    assert retry.headers["Preference-Applied"] == "conflict=merge"
    assert current(client, shipment)["version"] == 4


# --- what /openapi.json says of it ----------------------------------------------------------


@pytest.mark.parametrize("method", ["put", "patch"])
def test_openapi_documents_prefer_preference_applied_and_the_412_members(
    client: TestClient, method: str
) -> None:
    spec = client.get("/openapi.json").json()
    operation = spec["paths"]["/v1/shipments/{shipment_id}"][method]
    headers = {p["name"] for p in operation["parameters"] if p["in"] == "header"}
    problem = spec["components"]["schemas"]["Problem"]["properties"]

    assert "Prefer" in headers
    assert "Preference-Applied" in operation["responses"]["200"]["headers"]
    assert {"changesSince", "changesSinceComplete", "conflictingFields"} <= set(problem)
    assert "basedOn" in spec["components"]["schemas"]["HistoryItem"]["properties"]


# --- a server that did not write the versions since reads them from the stream --------------


@pytest.fixture
def other_server(settings: Settings) -> Iterator[TestClient]:
    """A second app on the same store: none of the first one's writes are in its memory."""
    with TestClient(create_app(settings), raise_server_exceptions=False) as second:
        yield second


@pytest.mark.parametrize(
    ("changes", "status"),
    [({"customerRemarks": "mine"}, 200), ({"weightLbs": 20}, 412)],
    ids=["disjoint", "overlapping"],
)
def test_a_merge_through_another_server_reads_the_changes_since_from_the_stream(
    client: TestClient,
    other_server: TestClient,
    shipment: dict[str, Any],
    changes: dict[str, Any],
    status: int,
) -> None:
    theirs = patched(client, shipment, {"weightLbs": 10})

    response = patch(other_server, shipment, changes, **MERGE)

    assert response.status_code == status, response.text
    if status == 200:
        assert response.json()["weightLbs"] == 10
        assert response.json()["customerRemarks"] == "mine"
        assert response.headers["Preference-Applied"] == "conflict=merge"
    else:
        problem = problem_of(response, 412)
        assert problem["conflictingFields"] == ["weightLbs"]
        assert problem["currentVersion"] == theirs["version"]


# --- changesSince from memory: the states this server wrote, no stream read -----------------


@pytest.fixture
def stream_reads(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """(after, up_to) of every read of the changes since from the stream, by any server."""
    reads: list[tuple[int, int]] = []

    def counted(service: Any, shipment_id: Any, after: int, up_to: int, *rest: Any) -> Any:
        reads.append((after, up_to))
        return read_changes(service, shipment_id, after, up_to, *rest)

    monkeypatch.setattr(stale_writes, "read_changes", counted)
    return reads


@pytest.mark.parametrize("stale", [1, 2], ids=["v1", "v2"])
def test_a_412_from_the_versions_this_server_wrote_reads_no_stream_and_equals_the_streams(
    client: TestClient,
    other_server: TestClient,
    shipment: dict[str, Any],
    other_shipment: dict[str, Any],
    stream_reads: list[tuple[int, int]],
    stale: int,
) -> None:
    documents = [other_shipment, shipment]
    documents.append(patched(client, documents[-1], {"weightLbs": 10, "pickupAddress": AUSTIN}))
    documents.append(patched(client, documents[-1], {"status": "SUBMITTED"}))
    documents.append(patched(client, documents[-1], {"customerRemarks": "theirs"}))
    body = {"customerRemarks": "mine"}

    from_memory = patch(client, shipment, body, if_match=quoted(documents[stale]))
    assert stream_reads == []
    from_stream = patch(other_server, shipment, body, if_match=quoted(documents[stale]))
    assert stream_reads == [(stale, 4)]

    problem = problem_of(from_memory, 412)
    assert problem == problem_of(from_stream, 412)
    assert from_memory.content == from_stream.content
    assert problem["changesSince"] == history_after(client, shipment, stale)
    assert [item["version"] for item in problem["changesSince"]] == list(range(stale + 1, 5))


def test_a_412_after_another_server_wrote_a_version_since_reads_the_stream_for_all_of_them(
    client: TestClient,
    other_server: TestClient,
    shipment: dict[str, Any],
    stream_reads: list[tuple[int, int]],
) -> None:
    second = patched(client, shipment, {"weightLbs": 10})
    third = patched(other_server, second, {"customerRemarks": "elsewhere"})
    patched(client, third, {"status": "SUBMITTED"})

    response = patch(client, shipment, {"weightLbs": 20})

    problem = problem_of(response, 412)
    assert stream_reads == [(1, 4)]
    assert [item["version"] for item in problem["changesSince"]] == [2, 3, 4]
    assert problem["changesSince"] == history_after(client, shipment, 1)
    assert problem["changesSinceComplete"] is True


def test_changes_read_from_the_stream_answer_the_next_412_for_them_without_a_second_read(
    client: TestClient,
    other_server: TestClient,
    shipment: dict[str, Any],
    stream_reads: list[tuple[int, int]],
) -> None:
    patched(other_server, shipment, {"customerRemarks": "elsewhere"})

    first = patch(client, shipment, {"weightLbs": 20})
    again = patch(client, shipment, {"weightLbs": 30})

    assert stream_reads == [(1, 2)]
    assert first.content == again.content
    assert problem_of(again, 412)["changesSince"] == history_after(client, shipment, 1)


def test_a_412_from_memory_is_cut_at_50_like_the_streams(
    client: TestClient,
    other_server: TestClient,
    shipment: dict[str, Any],
    stream_reads: list[tuple[int, int]],
) -> None:
    document = shipment
    for weight in range(1, 53):
        document = patched(client, document, {"weightLbs": weight})

    from_memory = patch(client, shipment, {"customerRemarks": "late"})
    assert stream_reads == []
    from_stream = patch(other_server, shipment, {"customerRemarks": "late"})

    problem = problem_of(from_memory, 412)
    assert from_memory.content == from_stream.content
    assert [i["version"] for i in problem["changesSince"]] == list(range(2, 52))
    assert problem["changesSinceComplete"] is False


def test_an_overlapping_merge_from_memory_is_412_with_the_changes_and_reads_no_stream(
    client: TestClient, shipment: dict[str, Any], stream_reads: list[tuple[int, int]]
) -> None:
    patched(client, shipment, {"weightLbs": 10})

    response = patch(client, shipment, {"weightLbs": 20}, **MERGE)

    problem = problem_of(response, 412)
    assert problem["conflictingFields"] == ["weightLbs"]
    assert problem["changesSince"] == history_after(client, shipment, 1)
    assert stream_reads == []


# --- a tag older than the committed version: refused without queueing for the row lock ------


@pytest.fixture
def queued(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every write command handed to the committer, by either door."""
    service = client.app.state.services.shipments  # type: ignore[attr-defined]
    commands: list[Any] = []
    submit = service.submit

    def counted(command: Any, notify: Any) -> None:
        commands.append(command)
        submit(command, notify)

    monkeypatch.setattr(service, "submit", counted)
    return commands


@pytest.mark.parametrize("write", [put, patch], ids=["PUT", "PATCH"])
def test_a_tag_older_than_the_committed_version_is_412_without_reaching_the_committer(
    client: TestClient, shipment: dict[str, Any], queued: list[Any], write: Any
) -> None:
    newer = patched(client, shipment, {"weightLbs": 10})
    queued.clear()

    response = write(client, shipment, {**writable(shipment), "customerRemarks": "late"})

    problem = problem_of(response, 412)
    assert queued == []
    assert problem["currentVersion"] == newer["version"] == 2
    assert problem["changesSince"] == history_after(client, shipment, 1)
    assert current(client, shipment)["version"] == 2


@pytest.mark.parametrize(
    "headers",
    [{}, {"Idempotency-Key": "k-1"}, MERGE],
    ids=["current-tag", "idempotency-key", "merge-preferred"],
)
def test_writes_that_may_succeed_or_replay_still_go_to_the_committer(
    client: TestClient, shipment: dict[str, Any], queued: list[Any], headers: dict[str, str]
) -> None:
    newer = patched(client, shipment, {"weightLbs": 10})
    queued.clear()
    tag = quoted(newer) if not headers else quoted(shipment)

    response = patch(client, newer, {"customerRemarks": "mine"}, if_match=tag, **headers)

    assert len(queued) == 1
    assert response.status_code in (200, 412), response.text


def test_a_tag_naming_a_version_not_yet_read_is_decided_under_the_lock(
    client: TestClient, shipment: dict[str, Any], queued: list[Any]
) -> None:
    future = quoted({**shipment, "eTag": _tag_of(shipment["id"], 7)})

    response = patch(client, shipment, {"customerRemarks": "x"}, if_match=future)

    assert len(queued) == 1
    assert problem_of(response, 412)["currentVersion"] == 1


def _tag_of(shipment_id: str, version: int) -> str:
    return encode_tag(UUID(shipment_id), version)
