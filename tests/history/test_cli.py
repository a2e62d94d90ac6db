"""``shipments replay`` and ``shipments history`` on a real stream in the configured store."""

from __future__ import annotations

import json
import uuid

import pytest
from fastapi.testclient import TestClient

from api.cli import main
from tests.history.conftest import WrittenStream


@pytest.fixture(autouse=True)
def configured_store(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The commands read the same store as the app, from the environment."""
    monkeypatch.setenv("SHIPMENTS_DATABASE_URL", database_url)
    monkeypatch.setenv("COLUMNS", "160")


def test_replay_shows_each_event_then_the_state_after_it(
    stream: WrittenStream, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["replay", stream.id]) == 0
    out = capsys.readouterr().out

    headings = [line for line in out.splitlines() if line.startswith("v")]
    assert [h.split(" ")[:2] for h in headings] == [
        ["v1", "Created"],
        ["v2", "Revised"],
        ["v3", "StatusChanged"],
        ["v4", "Revised"],
        ["v5", "Revised"],
        ["v6", "Revised"],
        ["v7", "Revised"],
    ]
    assert "7 event(s) replayed" in out
    # Changed fields are marked, with the value they replaced.
    assert any(
        line.startswith("* status") and "SUBMITTED" in line and "DRAFT" in line
        for line in out.splitlines()
    )
    assert "1 Main St, Austin, TX 73301" in out


def test_replay_to_a_version_stops_there(
    stream: WrittenStream, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["replay", stream.id, "--to-version", "3", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)

    assert [step["version"] for step in document["steps"]] == [1, 2, 3]


def test_replay_json_is_one_document_of_each_event_and_the_state_after_it(
    client: TestClient, stream: WrittenStream, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["replay", stream.id, "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    history = client.get(f"{stream.url}/history").json()["items"]

    assert document["shipmentId"] == stream.id
    assert [step["state"] for step in document["steps"]] == [w.document for w in stream.writes]
    assert [{k: v for k, v in s.items() if k != "state"} for s in document["steps"]] == history


def test_history_prints_one_row_per_event_with_its_changes(
    stream: WrittenStream, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["history", stream.id]) == 0
    out = capsys.readouterr().out

    assert stream.id in out
    for word in ("Created", "StatusChanged", "weightLbs: null → 4200", "DRAFT → SUBMITTED"):
        assert word in out
    assert out.count("Revised") == 5


@pytest.mark.parametrize("command", ["replay", "history"])
def test_an_unknown_shipment_exits_1_with_a_message(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([command, str(uuid.uuid4())]) == 1
    assert "no such shipment" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["replay", "history"])
def test_a_malformed_id_exits_2(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([command, "no-such-id"]) == 2
    assert "not a shipment id" in capsys.readouterr().err


@pytest.mark.parametrize("version", ["0", "8"])
def test_replay_to_a_version_that_does_not_exist_fails(
    stream: WrittenStream, version: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["replay", stream.id, "--to-version", version]) in (1, 2)
    assert capsys.readouterr().err.startswith("shipments: ")


def test_history_and_replay_say_which_version_a_merged_write_was_based_on(
    client: TestClient, stream: WrittenStream, capsys: pytest.CaptureFixture[str]
) -> None:
    merged = client.patch(
        stream.url,
        json={"shipmentType": "BOAT_HAUL_AWAY"},
        headers={"If-Match": stream.write(5).etag, "Prefer": "conflict=merge"},
    )
    assert merged.status_code == 200, merged.text

    assert main(["history", stream.id]) == 0
    history = capsys.readouterr().out
    assert main(["replay", stream.id]) == 0
    replay = capsys.readouterr().out

    assert history.count("merged onto v7, based on v5") == 1
    (heading,) = [line for line in replay.splitlines() if line.startswith("v8 ")]
    assert "merged onto v7, based on v5" in heading


def test_history_at_80_columns_or_piped_gives_each_change_a_whole_line(
    stream: WrittenStream, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    assert main(["history", stream.id]) == 0
    lines = capsys.readouterr().out.splitlines()

    assert lines[0] == f"Shipment {stream.id}: 7 event(s), oldest first, times in UTC"
    headings = [line.split("  ")[:2] for line in lines if line.startswith("v")]
    assert headings[:3] == [["v1", "Created"], ["v2", "Revised"], ["v3", "StatusChanged"]]
    assert "    weightLbs: null → 4200" in lines
    assert "    status: DRAFT → SUBMITTED" in lines


def test_history_json_is_the_history_items_the_api_gives(
    client: TestClient, stream: WrittenStream, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["history", stream.id, "--json"]) == 0
    document = json.loads(capsys.readouterr().out)

    assert document == {
        "shipmentId": stream.id,
        "items": client.get(f"{stream.url}/history").json()["items"],
    }


@pytest.mark.parametrize("command", ["replay", "history"])
def test_every_command_says_which_store_it_read(
    stream: WrittenStream, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([command, stream.id]) == 0
    assert capsys.readouterr().err.startswith("shipments: store ")
