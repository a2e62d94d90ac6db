"""The benchmark's receiver: counts by tag, bodies parsed only when taken."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson

from bench.delivery_receiver import Records, tag_of


def body(position: int) -> bytes:
    data = {"position": position, "recordedAt": "2026-12-06T22:00:00.250000Z"}
    return orjson.dumps({"type": "shipment.created", "data": data})


def test_the_tag_is_the_first_segment_of_the_path() -> None:
    assert tag_of("/r1-lag/hook/3") == "/r1-lag/"
    assert tag_of("/r1-lag/nats") == "/r1-lag/"
    assert tag_of("/alone") == "/alone"


def test_counts_and_takes_by_tag_and_parses_what_it_takes() -> None:
    records = Records()
    for position in (1, 2):
        records.add("/r1-lag/hook/0", body(position), {})
        records.add("/r1-tp10/hook/0", body(position), {})
    records.add("/r1-lag/nats", body(1), {})

    assert (records.count("/r1-lag/"), records.count("/r1-tp10/"), records.count("")) == (3, 2, 5)
    taken = records.take("/r1-lag/")

    assert [(path, position) for path, position, _, _ in taken["arrivals"]] == [
        ("/r1-lag/hook/0", 1),
        ("/r1-lag/hook/0", 2),
        ("/r1-lag/nats", 1),
    ]
    recorded = datetime(2026, 12, 6, 22, 0, 0, 250_000, tzinfo=UTC).timestamp()
    assert {arrival[3] for arrival in taken["arrivals"]} == {recorded}
    assert (records.count("/r1-lag/"), records.count("")) == (0, 2)
