"""A stale write's answer: what changed since its version, and merging what nobody else touched.

An event store knows exactly what happened after the version a client read.
Every 412 for a stale tag carries those history items (``changesSince``,
rendered by ``/history``'s own code). A write that prefers ``conflict=merge``
is instead applied to the current version when none of the fields it changes
(relative to the version it names) changed since (``domain.merging``).

The history items and the fields changed since come from the states this
process wrote lately, with their events, when they are all in memory (then a 412
costs no stream read and no worker thread: ``kept_changes``; and a merge is made
by the write's first decision: ``merged_in_memory``), else from the stream, read
in a worker thread — never on the committer's thread, which holds row locks. A
merge is decided like any write, on the current state under its row lock; if the
stream moved on after the read and the new versions are not in memory, they are
read and the merge is decided again (at most ``MAX_MERGE_ROUNDS`` times), so two
merges racing are settled exactly as two writes are.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID
from weakref import WeakKeyDictionary

from anyio.to_thread import run_sync

from application.field_names import camel
from application.ports import ShipmentStreams
from application.write_commands import ChangesSince, Stale
from domain.merging import MERGEABLE_FIELDS, Edit, fields_changed
from domain.shipment import Shipment
from infrastructure.bounded_cache import BoundedCache
from infrastructure.errors import ShipmentNotFound, VersionConflict
from infrastructure.idempotency import IdempotencyClaim
from infrastructure.recent_states import Written
from infrastructure.write_commands import Decide, WriteCommand, WriteOutcome
from projections.shipment_document import document_of
from projections.shipment_history import MAX_PAGE_SIZE, Step, read_steps, steps_of_documents

CHANGES_SINCE_LIMIT = 50  # history items in a 412; the client pages on with /history?after=
MAX_MERGE_ROUNDS = 10  # a merge overtaken this often is answered 412
STREAM_READS_KEPT = 1_000  # changes read from streams, kept for the next 412 that asks

_DOMAIN_NAMES = {camel(name): name for name in MERGEABLE_FIELDS}

Execute = Callable[[WriteCommand], Awaitable[WriteOutcome]]


@dataclass(frozen=True)
class ChangesRead:
    """The steps of a stream after version ``after`` up to ``up_to`` (perhaps only the first)."""

    after: int
    up_to: int
    base: Shipment | None  # the state at ``after`` (None when ``after`` is 0)
    steps: list[Step]
    end: Shipment | None  # the state at ``up_to`` (when all the steps were read)

    def changes_since(self) -> ChangesSince:
        """The first ``CHANGES_SINCE_LIMIT`` history items, as a stale write's answer has them."""
        return ChangesSince(
            [step.history_item() for step in self.steps[:CHANGES_SINCE_LIMIT]],
            complete=self.up_to - self.after <= CHANGES_SINCE_LIMIT,
        )

    def changed_fields(self) -> frozenset[str]:
        """The domain names of the fields these steps changed."""
        return frozenset(
            _DOMAIN_NAMES[name]
            for step in self.steps
            for name in step.changes()
            if name in _DOMAIN_NAMES
        )

    def then(self, later: ChangesRead) -> ChangesRead:
        """These steps followed by ``later``'s (which starts where these end)."""
        return ChangesRead(
            self.after, later.up_to, self.base, [*self.steps, *later.steps], later.end
        )


def read_changes(
    service: ShipmentStreams,
    shipment_id: UUID,
    after: int,
    up_to: int,
    limit: int | None = None,
) -> ChangesRead:
    """The steps after ``after`` up to ``up_to`` (only the first ``limit`` when given).

    They start from the state at ``after``, kept in memory when this process wrote
    it lately (``RecentStates``), else read from the stream (snapshot, events).
    """
    count = up_to - after if limit is None else min(limit, up_to - after)

    def read(start: Shipment | None) -> ChangesRead:
        page = read_steps(service, shipment_id, after, min(count, MAX_PAGE_SIZE), start)
        base, steps = page.start, list(page.steps)
        while len(steps) < count and page.next_after is not None:
            size = min(count - len(steps), MAX_PAGE_SIZE)
            page = read_steps(service, shipment_id, page.next_after, size, page.end)
            steps += page.steps
        return ChangesRead(after, up_to, base, steps, page.end)

    kept = service.recent_state(shipment_id, after) if after > 0 else None
    changes = read(kept)
    if kept is not None and erased_in(changes.steps):
        # The state kept in memory predates an erasure (made by another process; this
        # one forgets what it kept when it erases): never shown, so read it again.
        changes = read(None)
    return changes


def erased_in(steps: list[Step]) -> bool:
    """Whether one of ``steps`` erased the personal data."""
    return any(isinstance(step.event, Shipment.PersonalDataErased) for step in steps)


def kept_changes(
    service: ShipmentStreams,
    shipment_id: UUID,
    after: int,
    up_to: int,
    limit: int | None = None,
) -> ChangesRead | None:
    """What ``read_changes`` reads, made from the states this process wrote lately and
    their events (no I/O, no copy: they are never changed); None when one is not kept.

    The steps are the same ``Step``s, so their history items are byte for byte what
    the stream gives (``/history``); ``base`` and ``end`` are shared: read them only.
    """
    count = up_to - after if limit is None else min(limit, up_to - after)
    if after < 0 or count < 0:
        return None
    written = service.recent_writes(shipment_id, max(after, 1), after + count)
    if written is None:
        return None
    start: Written | None = None
    if after > 0:
        start, written = written[0], written[1:]
    steps = steps_of_documents(
        None if start is None else _document(start),
        [(kept.event, _document(kept)) for kept in written],
    )
    base = None if start is None else start.state
    end = written[-1].state if written else base
    return ChangesRead(after, up_to, base, steps, end)


def _document(kept: Written) -> dict[str, Any]:
    """The representation of a kept state, from the bytes its write rendered."""
    return document_of(kept.state, kept.document)


StreamReads = BoundedCache[tuple[UUID, int, int, int | None], ChangesRead]
"""Changes read from streams, by (shipment, after, up to, limit), for the next 412 that asks.

What the stream said between two versions never changes, and a client that keeps
sending a stale tag (or many clients holding one old tag) asks again and again:
these are the reads the memory of written states could not answer. One per app.
"""


_STREAM_READS: WeakKeyDictionary[ShipmentStreams, StreamReads] = WeakKeyDictionary()
_STREAM_READS_LOCK = threading.Lock()


def stream_reads_of(service: ShipmentStreams) -> StreamReads:
    """The memory of stream reads of one service (``STREAM_READS_KEPT`` entries), made once."""
    with _STREAM_READS_LOCK:
        reads = _STREAM_READS.get(service)
        if reads is None:
            reads = _STREAM_READS[service] = BoundedCache(STREAM_READS_KEPT)
        return reads


@dataclass(frozen=True)
class MergeRequest:
    """A stale write that prefers to be merged: its edit, its author, its preconditions."""

    edited: Callable[[Shipment], Edit]  # the fields it changes relative to its base state
    actor: str
    request_id: str | None
    claim: IdempotencyClaim | None
    check: Callable[[Shipment], None]  # preconditions besides the version (If-None-Match)


class StaleWrites:
    """Answers a write whose ``If-Match`` was stale: a 412 that says what changed, or a merge."""

    def __init__(
        self, service: ShipmentStreams, execute: Execute, stream_reads: StreamReads
    ) -> None:
        self._service = service
        self._execute = execute
        self._stream_reads = stream_reads

    async def refuse(self, conflict: VersionConflict) -> Stale:
        """The stale write's answer, with the first history items after the version it named."""
        read = await self._read(conflict, conflict.since or 0, CHANGES_SINCE_LIMIT)
        return _stale(conflict, read)

    def merged_in_memory(self, current: Shipment, base_version: int, request: MergeRequest) -> bool:
        """Merge onto ``current`` from the states this process wrote lately, if they are all
        at hand (on the committer's thread: no I/O); False when the stream must be read.

        Overlapping fields also answer False: the 412 is made in the loop, its
        ``changesSince`` from the same states (``kept_changes``).
        """
        base = self._service.kept_state(current.id, base_version)
        if base is None:
            return False
        try:
            edit = request.edited(base)
        except Exception:  # noqa: BLE001 - a body that cannot be read is answered in the loop
            return False
        changed = _changed_between(base, current, self._service.kept_state)
        if changed is None or edit.conflicts(changed):
            return False
        current.merge(edit, changed, base_version, request.actor, request.request_id)
        return True

    async def merge(
        self, conflict: VersionConflict, request: MergeRequest
    ) -> WriteOutcome | Stale | None:
        """The outcome of the write merged onto the current version; ``Stale`` when fields
        overlap (or the merge was overtaken ``MAX_MERGE_ROUNDS`` times).

        None when the write's fields cannot be worked out (a body that cannot be read
        cannot be merged): it is then answered as a stale write without the preference.
        """
        base_version = conflict.since or 0
        read = await self._read(conflict, base_version)
        assert read.base is not None  # a merge names a version of the shipment: ``since`` ≥ 1
        try:
            edit = request.edited(read.base)
        except Exception:  # noqa: BLE001 - the stale tag is answered first (RFC 9110 §13.2.1)
            return None
        for _ in range(MAX_MERGE_ROUNDS):
            conflicting = edit.conflicts(read.changed_fields())
            if conflicting:
                return _stale(conflict, read, tuple(sorted(camel(name) for name in conflicting)))
            decide = _merge_decision(
                conflict.shipment_id, edit, read, request, self._service.kept_state
            )
            outcome = await self._execute(WriteCommand(conflict.shipment_id, decide, request.claim))
            if not isinstance(outcome.error, VersionConflict) or outcome.error.since is None:
                return outcome
            conflict = outcome.error
            read = read.then(await self._read(conflict, read.up_to))
        return _stale(conflict, read)

    async def _read(
        self, conflict: VersionConflict, after: int, limit: int | None = None
    ) -> ChangesRead:
        """The changes after ``after`` up to the conflict's version: from memory when
        this process wrote them all lately, else from the stream in a worker thread."""
        kept = kept_changes(
            self._service, conflict.shipment_id, after, conflict.current_version, limit
        )
        if kept is not None and _holds_an_erasure(kept):
            kept = None  # its earlier states were kept before their values were erased
        key = (conflict.shipment_id, after, conflict.current_version, limit)
        read = kept if kept is not None else self._stream_reads.get(key)
        if (
            read is not None
            and not (conflict.current_is_fresh and _reaches(read, conflict.current_version))
            and await _in_worker(self._service.erased_after, conflict.shipment_id, after)
        ):
            read = None  # kept before an erasure (perhaps another process's): read again
        if read is None:
            read = await run_sync(
                read_changes,
                self._service,
                conflict.shipment_id,
                after,
                conflict.current_version,
                limit,
            )
            self._stream_reads.put(key, read)
        return read


def _reaches(read: ChangesRead, current_version: int) -> bool:
    """Whether ``read`` holds every event up to the current version.

    When that version is fresh (the committer read it under the row lock), the
    read needs no question to the store about erasures: an erasure after ``after``
    is one of its events, as none lies beyond the current version. Kept states
    holding one are never used (``_holds_an_erasure``); a stream read holding one
    was read after it, with the values already erased. A tag refused from this
    process's memory before queueing has no fresh version (another process may
    have erased since), so it still asks.
    """
    return read.after + len(read.steps) >= current_version


async def _in_worker(function: Callable[[UUID, int], bool], shipment_id: UUID, after: int) -> bool:
    """``function`` in the loop's worker threads: asyncio's own hand-off, which costs a
    fraction of anyio's ``run_sync`` (its limiter and cancel scope) on this hot path."""
    return await asyncio.get_running_loop().run_in_executor(None, function, shipment_id, after)


def _holds_an_erasure(read: ChangesRead) -> bool:
    return any(isinstance(step.event, Shipment.PersonalDataErased) for step in read.steps)


def _stale(
    conflict: VersionConflict, read: ChangesRead, conflicting_fields: tuple[str, ...] = ()
) -> Stale:
    return Stale(
        conflict.shipment_id,
        conflict.current_version,
        "changed",
        read.changes_since(),
        conflicting_fields,
    )


def _merge_decision(
    shipment_id: UUID,
    edit: Edit,
    read: ChangesRead,
    request: MergeRequest,
    kept_state: Callable[[UUID, int], Shipment | None],
) -> Decide:
    """Merge ``edit`` onto the current state (run by the committer, with the row locked).

    The changes since the base are those read, plus, when writes landed after the
    read, theirs: worked out in memory from the states this process wrote lately
    (no I/O on the committer's thread). When one of those states is not at hand, or
    a field overlaps, the write meets a ``VersionConflict`` at the current version:
    the caller reads the new changes and decides again (or answers the overlap).
    """
    changed = read.changed_fields()

    def decide(current: Shipment | None) -> Shipment:
        if current is None:
            raise ShipmentNotFound(shipment_id)
        request.check(current)
        since = changed
        if current.version != read.up_to:
            later = _changed_between(read.end, current, kept_state)
            if later is None or edit.conflicts(later):
                raise VersionConflict(current.id, current.version, since=read.after)
            since = changed | later
        current.merge(edit, since, read.after, request.actor, request.request_id)
        return current

    return decide


def _changed_between(
    start: Shipment | None,
    current: Shipment,
    kept_state: Callable[[UUID, int], Shipment | None],
) -> frozenset[str] | None:
    """The fields changed from ``start`` to ``current``, version by version; None when a
    version in between is not among the states this process wrote lately."""
    if start is None or start.version > current.version:
        return None
    changed: set[str] = set()
    before = start
    for version in range(start.version + 1, current.version):
        state = kept_state(current.id, version)
        if state is None:
            return None
        changed |= fields_changed(before, state)
        before = state
    return frozenset(changed | fields_changed(before, current))
