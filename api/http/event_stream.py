"""The change feed as a live stream: pages of the log, then what comes next as it commits.

Each item is yielded once, in position order, starting after a position the
client chose (``Last-Event-ID`` on reconnection), so a client that reconnects
with the id of the last event it saw misses nothing and sees nothing twice.
A following stream reads what the process's ``LogFollower`` holds in memory
and waits for it to be woken by a commit, so an idle stream costs the store
nothing; what is older than the follower's memory is read from the store.
A stream that ends once caught up (``follow=false``) reads the store only: it
must include every commit made before the request, which the follower may not
have seen yet. When the client goes away the server cancels the generator at
its next await, which ends it cleanly.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Annotated, Any

import anyio
from pydantic import BeforeValidator, WithJsonSchema
from starlette.concurrency import run_in_threadpool

from infrastructure.change_feed import ChangeFeed
from infrastructure.errors import StoreUnavailable
from infrastructure.log_follower import LogFollower
from projections.event_payloads import feed_item

# A position is at most 18 digits here (the store's positions stop at 2**63 - 1,
# which no stream comes near): a length the document can state exactly.
MAX_EVENT_ID_DIGITS = 18


def _decimal_digits(value: object) -> object:
    """Only what an ``id:`` line of this stream can hold: no sign, space or separator."""
    if isinstance(value, str) and not (
        value.isascii() and value.isdigit() and len(value) <= MAX_EVENT_ID_DIGITS
    ):
        raise ValueError(f"must be 1 to {MAX_EVENT_ID_DIGITS} decimal digits")
    return value


LastEventId = Annotated[
    int | None,
    BeforeValidator(_decimal_digits),
    WithJsonSchema({"type": "string", "pattern": f"^[0-9]{{1,{MAX_EVENT_ID_DIGITS}}}$"}),
]
"""The ``Last-Event-ID`` header: the position of the last event the client saw."""

PAGE_SIZE = 200
POLL_SECONDS = 0.5
# How long a stream waits for a commit before looking again (from memory: no query).
IDLE_WAIT_SECONDS = 15.0
_log = logging.getLogger("shipments.events")


async def follow_feed(
    feed: ChangeFeed,
    after: int,
    *,
    limit: int | None = None,
    follow: bool = True,
    poll_seconds: float = POLL_SECONDS,
    follower: LogFollower | None = None,
) -> AsyncIterator[dict[str, Any]]:
    """Feed items after ``after``: until ``limit`` are sent, or caught up when not following."""
    position, sent = after, 0
    memory = follower if follow else None
    try:
        while limit is None or sent < limit:
            wanted = PAGE_SIZE if limit is None else min(PAGE_SIZE, limit - sent)
            entries = None if memory is None else memory.entries_after(position, wanted)
            if entries is not None:
                has_more = len(entries) == wanted
            else:
                try:
                    page = await run_in_threadpool(feed.read, position, wanted)
                except StoreUnavailable:
                    if not follow:
                        raise
                    _log.warning("change feed stream: store unavailable, retrying")
                    await anyio.sleep(poll_seconds)
                    continue
                entries, has_more = page.entries, page.has_more
            for entry in entries:
                yield feed_item(entry.position, entry.event)
                position, sent = entry.position, sent + 1
            if has_more:
                continue
            if not follow or (limit is not None and sent >= limit):
                return
            # Caught up: wait for new commits.
            if memory is not None:
                await memory.wait_beyond(position, IDLE_WAIT_SECONDS)
            else:
                await anyio.sleep(poll_seconds)
    finally:
        _log.info("change feed stream closed after %d event(s), at position %d", sent, position)
