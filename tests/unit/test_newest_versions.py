"""The newest committed version seen of each shipment: it only moves up."""

from __future__ import annotations

from uuid import uuid4

from infrastructure.newest_versions import NewestVersions


def test_a_version_is_noted_only_when_newer_than_the_one_known() -> None:
    shipment, other = uuid4(), uuid4()
    newest = NewestVersions(10)
    newest.note([(shipment, 3), (shipment, 2), (other, 1)])

    assert newest.newest(shipment) == 3
    assert newest.newest(other) == 1
    assert newest.newest(uuid4()) is None
