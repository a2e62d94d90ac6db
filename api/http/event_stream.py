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
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

import anyio
import orjson
from pydantic import BeforeValidator, WithJsonSchema
from starlette.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse

from infrastructure.change_feed import ChangeFeed, FeedEntry
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
# How long a stream waits for a commit before looking again (from memory: no query),
# and so how often an idle stream gets a ``: ping`` comment (proxies close silent ones).
IDLE_WAIT_SECONDS = 15.0
PING_FRAME = b": ping\n\n"
_FRAME = "sse"


class Idle:
    """Nothing was committed for ``IDLE_WAIT_SECONDS``: time for a ping."""


IDLE = Idle()
_log = logging.getLogger("shipments.events")


async def follow_entries(
    feed: ChangeFeed,
    after: int,
    *,
    limit: int | None = None,
    follow: bool = True,
    poll_seconds: float = POLL_SECONDS,
    follower: LogFollower | None = None,
) -> AsyncIterator[FeedEntry | Idle]:
    """Feed entries after ``after`` (and ``IDLE`` after each quiet ``IDLE_WAIT_SECONDS``)."""
    position, sent = after, 0
    memory = follower if follow else None
    quiet_since = time.monotonic()
    try:
        while limit is None or sent < limit:
            wanted = PAGE_SIZE if limit is None else min(PAGE_SIZE, limit - sent)
            page = await _next_page(feed, memory, position, wanted, follow, poll_seconds)
            if page is None:
                continue
            entries, has_more = page
            for entry in entries:
                yield entry
                position, sent = entry.position, sent + 1
            if entries:
                quiet_since = time.monotonic()
            if has_more:
                continue
            if not follow or (limit is not None and sent >= limit):
                return
            # Caught up: wait for new commits.
            if memory is not None:
                await memory.wait_beyond(position, IDLE_WAIT_SECONDS)
            else:
                await anyio.sleep(poll_seconds)
            if time.monotonic() - quiet_since >= IDLE_WAIT_SECONDS:
                quiet_since = time.monotonic()
                yield IDLE
    finally:
        _log.info("change feed stream closed after %d event(s), at position %d", sent, position)


async def _next_page(
    feed: ChangeFeed,
    memory: LogFollower | None,
    position: int,
    wanted: int,
    follow: bool,
    poll_seconds: float,
) -> tuple[list[FeedEntry], bool] | None:
    """The next entries and whether more are there: from memory, else the store (None:
    the store is unavailable and a following stream tries again)."""
    entries = None if memory is None else memory.entries_after(position, wanted)
    if entries is not None:
        return entries, len(entries) == wanted
    try:
        page = await run_in_threadpool(feed.read, position, wanted)
    except StoreUnavailable:
        if not follow:
            raise
        _log.warning("change feed stream: store unavailable, retrying")
        await anyio.sleep(poll_seconds)
        return None
    return page.entries, page.has_more


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
    async for entry in follow_entries(
        feed, after, limit=limit, follow=follow, poll_seconds=poll_seconds, follower=follower
    ):
        if not isinstance(entry, Idle):
            yield feed_item(entry.position, entry.event)


def sse_frame(entry: FeedEntry) -> bytes:
    """The entry as one server-sent event, rendered once however many streams send it."""
    frame = entry.renderings.get(_FRAME)
    if frame is None:
        item = feed_item(entry.position, entry.event)
        frame = b"event: %s\ndata: %s\nid: %d\n\n" % (
            item["type"].encode(),
            orjson.dumps(item),
            entry.position,
        )
        entry.renderings[_FRAME] = frame
    return frame


async def sse_frames(
    feed: ChangeFeed,
    after: int,
    *,
    limit: int | None = None,
    follow: bool = True,
    follower: LogFollower | None = None,
) -> AsyncIterator[bytes]:
    """The bytes of a ``text/event-stream``: each entry's frame, and a ping when idle."""
    async for entry in follow_entries(feed, after, limit=limit, follow=follow, follower=follower):
        yield PING_FRAME if isinstance(entry, Idle) else sse_frame(entry)


class ServerSentEvents(StreamingResponse):
    """A ``text/event-stream`` of frames made beforehand.

    FastAPI's own SSE response runs three tasks joined by two memory streams per
    connection and a time-out scope per event; with a thousand open streams, that
    work per event per stream held a write's arrival at the last stream back by
    over a second (``bench.idle_streams``). Here each event is rendered once
    (``sse_frame``) and each stream only sends its bytes; the wait for the next
    commit is the follower's, and its time-out sends the ping.
    """

    # No class-wide media type: as the route's ``response_class`` it would add a
    # ``schema`` beside the route's documented ``itemSchema``.
    media_type = None

    def __init__(self, frames: AsyncIterator[bytes], status_code: int = 200) -> None:
        super().__init__(
            frames,
            status_code=status_code,
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
