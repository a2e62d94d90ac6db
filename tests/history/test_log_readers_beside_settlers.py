"""Readers of the log never skip an event while other threads of the process settle positions.

A process remembers the highest position it knows is final (``SettledPositions``),
shared by all its readers: the change feed's requests, the projection runner,
the log follower, a rebuild. On PostgreSQL appends overlap and commit out of
position order, so a reader's page often has holes. Here appends overlap for
real (threads inserting on their own connections), readers page the log from
the same position, and another thread keeps settling the head as a rebuild or a
follower's first read does. Each reader must see exactly the log read back at
the end: a hole judged against what another thread learnt after the rows were
read is a committed event passed for good (it was, once, in CI).
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from api.wiring import Services
from domain.details import ShipmentDetails
from domain.shipment import Shipment
from domain.values import ShipmentType

WRITERS = 6
APPENDS_EACH = 60
READERS = 3
EXPECTED = WRITERS * APPENDS_EACH
PAGE = 20
# How long a reader may go without reaching the end once every append has returned.
STALL_SECONDS = 30


def append_new_shipments(services: Services, count: int) -> None:
    """Each append in its own transaction on a pooled connection: they overlap in flight."""
    recorder = services.store.recorder
    mapper = services.store.mapper
    for _ in range(count):
        shipment = Shipment(ShipmentDetails(shipment_type=ShipmentType.PPM), "writer", None)
        recorder.insert_events([mapper.to_stored_event(e) for e in shipment.collect_events()])


def page_the_log(services: Services, after: int, appended: threading.Event) -> list[int]:
    recorder = services.store.recorder
    seen: list[int] = []
    stalled_since: float | None = None
    while len(seen) < EXPECTED:
        page = recorder.select_notifications(after, PAGE, inclusive_of_start=False)
        seen += [notification.id for notification in page]
        after = seen[-1] if seen else after
        if page or not appended.is_set():
            stalled_since = None
        elif stalled_since is None:
            stalled_since = time.monotonic()
        elif time.monotonic() - stalled_since > STALL_SECONDS:
            break  # a skipped event never comes: what was seen is compared below
    return seen


def settle_the_head(services: Services, appended: threading.Event) -> int:
    recorder = services.store.recorder
    rounds = 0
    while not appended.is_set():
        recorder.settled_head()  # type: ignore[attr-defined]
        rounds += 1
    return rounds


def test_every_reader_sees_every_committed_event_once_while_another_thread_settles(
    services: Services,
) -> None:
    recorder = services.store.recorder
    start = recorder.max_notification_id() or 0
    appended = threading.Event()
    with ThreadPoolExecutor(max_workers=WRITERS + READERS + 1) as pool:
        readers = [pool.submit(page_the_log, services, start, appended) for _ in range(READERS)]
        settler = pool.submit(settle_the_head, services, appended)
        writers = [
            pool.submit(append_new_shipments, services, APPENDS_EACH) for _ in range(WRITERS)
        ]
        try:
            for writer in writers:
                writer.result()
        finally:
            appended.set()
        seen = [reader.result() for reader in readers]
        assert settler.result() > 0

    log = [
        n.id for n in recorder.select_notifications(start, EXPECTED + 1, inclusive_of_start=False)
    ]
    assert len(log) == EXPECTED
    for positions in seen:
        missing = sorted(set(log) - set(positions))
        assert positions == log, f"a reader saw {len(positions)} of {EXPECTED}; missed {missing}"
