"""The split of the event log by stream id that rebuild and verify spread over processes."""

from __future__ import annotations

from itertools import pairwise
from uuid import UUID, uuid4

import pytest

from projections.stream_partitions import partitions


@pytest.mark.parametrize("count", [1, 2, 3, 7, 8])
def test_partitions_cover_every_id_once_in_order(count: int) -> None:
    parts = partitions(count)

    assert len(parts) == count
    assert parts[0].first == 0
    assert parts[-1].last == UUID("ffffffff-ffff-ffff-ffff-ffffffffffff").int
    for before, after in pairwise(parts):
        assert after.first == before.last + 1


def test_each_stream_falls_in_exactly_one_partition() -> None:
    parts = partitions(5)
    for _ in range(1000):
        shipment_id = uuid4().int
        assert sum(part.first <= shipment_id <= part.last for part in parts) == 1
