"""``shipments verify`` and the check behind it: the view against a replay of every stream."""

from __future__ import annotations

from uuid import UUID

import pytest

from api.cli import main
from api.wiring import Services
from domain.values import Status
from infrastructure.shipment_service import WriteContext
from projections.verify import verify_view, view_differences
from tests.projections.conftest import create_around_view, create_through_service
from tests.projections.test_rebuild import delete_view_row


def overwrite_status(services: Services, shipment_id: UUID, status: str) -> None:
    """Corrupt one row's status column (as a bad manual fix would)."""
    view = services.view
    with view.datastore.transaction(commit=True) as cursor:  # type: ignore[attr-defined]
        if services.store.dialect == "postgres":
            table = f'"{view.datastore.schema}".{view.table}'  # type: ignore[attr-defined]
            cursor.execute(f"UPDATE {table} SET status = %s WHERE id = %s", (status, shipment_id))
        else:
            cursor.execute(
                f"UPDATE {view.table} SET status = ? WHERE id = ?", (status, shipment_id.hex)
            )


def test_a_view_kept_by_the_write_path_has_no_differences(services: Services) -> None:
    for number in range(6):
        shipment = create_through_service(services, number)
        services.shipments.revise(
            shipment, shipment.details, Status.SUBMITTED, WriteContext("tester", None)
        )
    assert view_differences(services.store, services.view) == []


def test_each_kind_of_difference_is_reported(services: Services, view_left_behind: None) -> None:
    kept = create_through_service(services, 1)
    corrupted = create_through_service(services, 2)
    deleted = create_through_service(services, 3)
    unseen = create_around_view(services, 4)  # events the view never received
    overwrite_status(services, corrupted.id, "DELIVERED")
    delete_view_row(services, deleted.id)

    found = {(d.shipment_id, d.field) for d in view_differences(services.store, services.view)}

    assert (corrupted.id, "status") in found
    assert (deleted.id, "row") in found
    assert (unseen.id, "row") in found
    assert not any(shipment_id == kept.id for shipment_id, _ in found)


def test_a_verify_in_several_processes_finds_what_one_process_finds(
    services: Services, view_left_behind: None
) -> None:
    shipments = [create_through_service(services, number) for number in range(30)]
    unseen = create_around_view(services, 99, revisions=3)
    overwrite_status(services, shipments[3].id, "DELIVERED")
    delete_view_row(services, shipments[17].id)

    in_one = verify_view(services.store, services.view, workers=1)
    in_three = verify_view(services.store, services.view, workers=3)

    assert in_three == in_one
    assert in_three.shipments == 31
    assert in_three.events == 30 + 4
    found = {(d.shipment_id, d.field) for d in in_three.differences}
    assert found == {
        (shipments[3].id, "status"),
        (shipments[17].id, "row"),
        (unseen.id, "row"),
    }


def test_verify_command_prints_each_difference_and_exits_1_then_0_once_clean(
    services: Services,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("SHIPMENTS_DATABASE_URL", database_url)
    shipment = create_through_service(services, 1)
    assert main(["verify"]) == 0
    assert "matches the event log" in capsys.readouterr().out

    overwrite_status(services, shipment.id, "CANCELED")
    assert main(["verify", "--workers", "2"]) == 1
    printed = capsys.readouterr().out
    assert f"{shipment.id} status: view='CANCELED' events='DRAFT'" in printed
    assert f"{shipment.id} document.status" not in printed  # the document itself is intact

    assert main(["projections", "rebuild"]) == 0
    assert main(["verify"]) == 0
