"""The write use case: a command in, a ``WriteResult`` out — create, replace, merge-patch.

Every way in (the routes, the doors in front of them, tools) reads its request
into a command and calls ``ShipmentWrites``; nothing else decides a write.

A write is a decision (``infrastructure.write_commands.WriteCommand``) that the
store runs on the shipment's current state, read inside the append transaction
with its row locked, so a write is always decided on the state it is appended
after. The decision is made here, from the command's data alone: it checks, in
RFC 9110's and API.md's order, 404 → the preconditions (428/412, on the
current version) → the body (unreadable, invalid) → the domain's rules (409)
→ append. An idempotent replay is settled by the store before any of it. What
does not depend on the current state (reading a PUT's body) is worked out in
the caller's thread beforehand and answered in its place in that order.

A stale write is answered with what changed since the version it names, or
merged when it asks to be (``application.stale_writes``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any
from uuid import UUID

from anyio.to_thread import run_sync

from application.ports import ShipmentStreams
from application.shipment_input import (
    InvalidInput,
    Requested,
    apply_merge_patch,
    check_server_owned,
    checked_patch,
    edit_of,
    new_shipment,
    patched,
    to_domain,
    validate_write,
)
from application.stale_writes import MergeRequest, StaleWrites, StreamReads, stream_reads_of
from application.write_commands import (
    Author,
    Body,
    BodyRefusal,
    Condition,
    CreateShipment,
    ErasePersonalData,
    Invalid,
    NotFound,
    PreconditionMissing,
    RefusedByRule,
    Replayed,
    ReviseShipment,
    Stale,
    Unchanged,
    WriteResult,
    Written,
)
from domain.errors import IllegalTransition, InvalidShipment, ShipmentClosed
from domain.merging import Edit
from domain.shipment import Shipment
from infrastructure.errors import (
    IdempotencyKeyReused,
    ShipmentNotFound,
    StoreUnavailable,
    VersionConflict,
)
from infrastructure.idempotency import IdempotencyClaim, IdempotencyRecord
from infrastructure.loop_mailboxes import LoopMailboxes
from infrastructure.write_commands import WriteCommand, WriteOutcome
from projections.shipment_document import document_of, shipment_document


class PreconditionRequired(Exception):
    """A revision that names no version (no ``If-Match``)."""

    def __init__(self, shipment_id: UUID, current_version: int) -> None:
        super().__init__(f"{shipment_id} is at version {current_version}; name the version")
        self.shipment_id = shipment_id
        self.current_version = current_version


class _Unreadable(Exception):
    """A body the request could not be read as, raised in its turn by the decision."""

    def __init__(self, refusal: BodyRefusal) -> None:
        super().__init__(str(refusal.error))
        self.refusal = refusal


class _Prepared:
    """A value worked out before the decision, or the refusal it met, raised when asked for.

    The decision asks for it only once the preconditions passed, so a stale tag
    is 412 even when the body is also invalid (RFC 9110 §13.2.1).
    """

    def __init__(self, compute: Callable[[], Any]) -> None:
        self._value: Any = None
        self._error: Exception | None = None
        try:
            self._value = compute()
        except Exception as error:  # noqa: BLE001 - kept, and raised in its turn
            self._error = error

    def result(self) -> Any:
        if self._error is not None:
            raise self._error
        return self._value


class ShipmentWrites:
    """Create, replace and merge-patch, each as at most one appended event."""

    def __init__(self, streams: ShipmentStreams) -> None:
        self._streams = streams
        self._mailboxes = LoopMailboxes()
        self._stream_reads: StreamReads = stream_reads_of(streams)

    async def create(self, command: CreateShipment) -> WriteResult:
        """A new shipment, DRAFT at version 1 (or the original result of a retry)."""
        requested = _Prepared(lambda: new_shipment(_readable(command.body)))
        author = command.author

        def decide(_: Shipment | None) -> Shipment:
            details, _status = requested.result()
            return Shipment(details, author.actor, author.request_id)

        claim = _claim(author, status_code=201)
        outcome = await self._execute(WriteCommand(None, decide, claim))
        return await self._result(outcome, created=True)

    async def revise(self, command: ReviseShipment) -> WriteResult:
        """Replace or merge-patch one shipment, as its condition and the rules allow."""
        if command.kind == "replace":
            body = _Prepared(lambda: _readable(command.body))
            # A PUT's body is the whole new state: it is validated now, against nothing.
            validated = _Prepared(lambda: to_domain(validate_write(body.result())))

            def requested(current: dict[str, Any]) -> Requested:
                check_server_owned(body.result(), current)
                result: Requested = validated.result()
                return result

            def edited(base: Shipment) -> Edit:
                # A PUT changes the fields whose value in its body differs from the base's.
                replaced: dict[str, Any] = body.result()
                return edit_of(base, replaced)

        else:
            patch = _Prepared(lambda: checked_patch(_readable(command.body)))

            def requested(current: dict[str, Any]) -> Requested:
                return patched(patch.result(), current)

            def edited(base: Shipment) -> Edit:
                # A merge patch changes its members whose value differs from the base's.
                changes: dict[str, Any] = patch.result()
                return edit_of(base, apply_merge_patch(shipment_document(base), changes))

        return await self._revise(command, requested, edited)

    async def _revise(
        self,
        command: ReviseShipment,
        requested: Callable[[dict[str, Any]], Requested],
        edited: Callable[[Shipment], Edit],
    ) -> WriteResult:
        shipment_id, author = command.shipment_id, command.author
        claim = _claim(author, status_code=200)
        merge = None
        if command.merge:
            merge = MergeRequest(
                edited,
                author.actor,
                author.request_id,
                claim,
                lambda current: _check_unless(current, command.unless),
            )
        stale = StaleWrites(self._streams, self._execute, self._stream_reads)

        def decide(current: Shipment | None) -> Shipment:
            if current is None:
                raise ShipmentNotFound(shipment_id)
            try:
                _check_conditions(current, command)
            except VersionConflict as conflict:
                # A stale write that prefers a merge is merged here when every state
                # since its version is in memory; else it is answered afterwards.
                if merge is None or not conflict.since:
                    raise
                if not stale.merged_in_memory(current, conflict.since, merge):
                    raise
                return current
            details, status = requested(self._document_of(current))
            current.revise(details, status, author.actor, author.request_id)
            return current

        if claim is None and merge is None and command.unless is None:
            already_stale = self._stale_before_queueing(command)
            if already_stale is not None:
                return await self._refuse(already_stale, command.expected, stale)
        outcome = await self._execute(WriteCommand(shipment_id, decide, claim))
        conflict = outcome.error
        if not isinstance(conflict, VersionConflict) or conflict.since is None:
            return await self._result(outcome, stale_base=command.expected)
        if merge is not None and conflict.since > 0:
            merged = await stale.merge(conflict, merge)
            if isinstance(merged, Stale):
                return merged
            if merged is not None:
                return await self._result(merged, stale_base=command.expected)
        return await self._refuse(conflict, command.expected, stale)

    async def erase_personal_data(self, command: ErasePersonalData) -> WriteResult:
        """Append ``PersonalDataErased``; the store destroys the shipment's keys and scrubs
        its view row in the same transaction (``infrastructure.sealed_appends``)."""
        shipment_id, author = command.shipment_id, command.author

        def decide(current: Shipment | None) -> Shipment:
            if current is None:
                raise ShipmentNotFound(shipment_id)
            _check_expected(current, command.expected)
            current.erase_personal_data(author.actor, author.request_id)
            return current

        outcome = await self._execute(WriteCommand(shipment_id, decide))
        conflict = outcome.error
        if isinstance(conflict, VersionConflict) and conflict.since is not None:
            stale = StaleWrites(self._streams, self._execute, self._stream_reads)
            return await self._refuse(conflict, command.expected, stale)
        return await self._result(outcome)

    def _stale_before_queueing(self, command: ReviseShipment) -> VersionConflict | None:
        """The conflict of an ``If-Match`` that names only versions older than one committed.

        Versions only grow, so such a tag can never match again: it is answered 412
        without queueing for the store's row lock, which writes that can succeed are
        waiting for. "Committed" is what this process has seen (no I/O here);
        anything else — a shipment not seen, ``*``, a tag of the version seen or a
        later one — is decided under the lock as ever. Not for writes with an
        idempotency key (a replay is answered first) or a merge preference.
        """
        expected = command.expected
        version = self._streams.newest_seen_version(command.shipment_id)
        if version is None or expected is None or expected.names_one_at_or_after(version):
            return None
        since = expected.newest_before(version)
        return VersionConflict(
            command.shipment_id, version, since=since or 0, current_is_fresh=False
        )

    async def _refuse(
        self, conflict: VersionConflict, expected: Condition | None, stale: StaleWrites
    ) -> Stale:
        """The answer to a stale ``If-Match``: what changed since the version it names."""
        if expected is not None and not expected.any_version and not conflict.since:
            # It names no version of this shipment: nothing "changed since".
            return Stale(conflict.shipment_id, conflict.current_version, "foreign")
        return await stale.refuse(conflict)

    def _document_of(self, current: Shipment) -> dict[str, Any]:
        """The current state's representation (a fresh dict): parsed from the rendering
        kept when this process wrote that version (a sixth of rendering it), else rendered."""
        return document_of(current, self._streams.kept_document(current.id, current.version))

    async def _execute(self, command: WriteCommand) -> WriteOutcome:
        """Queue the write and await its outcome without holding a worker thread."""
        mailbox = self._mailboxes.of_running_loop()
        settled: asyncio.Future[WriteOutcome] = asyncio.get_running_loop().create_future()

        def notify(outcome: WriteOutcome) -> None:  # on the store's committer thread
            mailbox.post(_settle, settled, outcome)

        try:
            self._streams.submit(command, notify)
        except RuntimeError as closed:  # shutting down: nothing was queued
            raise StoreUnavailable(str(closed)) from closed
        return await settled

    async def _result(
        self,
        outcome: WriteOutcome,
        *,
        created: bool = False,
        stale_base: Condition | None = None,
    ) -> WriteResult:
        """What became of a write, from its outcome (a store failure is raised).

        ``stale_base``: a revision's ``If-Match``. A write accepted at a version its
        condition does not name was merged onto it (its event, if any, says so too).
        """
        error = outcome.error
        if error is not None:
            return _refusal(error)
        if outcome.replay is not None:
            return await self._replayed(outcome.replay)
        shipment = outcome.shipment
        assert shipment is not None
        # Rendered once, for the view row (or when this process wrote the unchanged state).
        document = outcome.document or self._streams.kept_document(shipment.id, shipment.version)
        if not outcome.appended:
            merged = stale_base is not None and not stale_base.names(shipment.version)
            return Unchanged(shipment, document, merged=merged)
        merged = getattr(outcome.event, "based_on", None) is not None
        return Written(shipment, document, created=created, merged=merged)

    async def _replayed(self, record: IdempotencyRecord) -> Replayed:
        """The original result of the write already made with this key.

        Its state is the one at the version that write produced, read from the
        stream, so it is exactly what the write answered; a merged write's event
        says it was merged.
        """
        shipment, based_on = await run_sync(
            self._streams.load_version_and_base, record.shipment_id, record.version
        )
        return Replayed(shipment, created=record.status_code == 201, merged=based_on is not None)


def _readable(body: Body) -> dict[str, Any]:
    """The body's JSON object, or the reason it could not be read, raised."""
    if isinstance(body, BodyRefusal):
        raise _Unreadable(body)
    return body


def _check_conditions(shipment: Shipment, command: ReviseShipment) -> None:
    """No ``If-Match``: required. A stale one: ``VersionConflict`` naming the version the
    writer read (the newest of this shipment it names; 0 for none)."""
    _check_unless(shipment, command.unless)
    _check_expected(shipment, command.expected)


def _check_expected(shipment: Shipment, expected: Condition | None) -> None:
    """``If-Match`` is required and must name the current version (``*`` names any)."""
    if expected is None:
        raise PreconditionRequired(shipment.id, shipment.version)
    if not expected.names(shipment.version):
        since = expected.newest_before(shipment.version)
        raise VersionConflict(shipment.id, shipment.version, since=since or 0)


def _check_unless(shipment: Shipment, unless: Condition | None) -> None:
    """``If-None-Match`` naming the current version (or ``*``): the write must not happen."""
    if unless is not None and unless.names(shipment.version):
        raise VersionConflict(shipment.id, shipment.version)


def _refusal(error: BaseException) -> WriteResult:
    """The result a decision's refusal stands for; a store failure is raised."""
    if isinstance(error, ShipmentNotFound):
        return NotFound(error.shipment_id)
    if isinstance(error, PreconditionRequired):
        return PreconditionMissing(error.shipment_id, error.current_version)
    if isinstance(error, VersionConflict):  # If-None-Match named the current version
        return Stale(error.shipment_id, error.current_version, "exists")
    if isinstance(error, IllegalTransition | ShipmentClosed):
        return RefusedByRule(error)
    if isinstance(error, InvalidShipment | InvalidInput | IdempotencyKeyReused):
        return Invalid(error)
    if isinstance(error, _Unreadable):
        return Invalid(error.refusal.error)
    raise error  # the store's failure, or a fault: not the write's answer


def _claim(author: Author, status_code: int) -> IdempotencyClaim | None:
    if author.idempotency_key is None:
        return None
    return IdempotencyClaim(
        principal=author.actor,
        key=author.idempotency_key,
        fingerprint=author.fingerprint,
        status_code=status_code,
    )


def _settle(settled: asyncio.Future[WriteOutcome], outcome: WriteOutcome) -> None:
    """Complete an awaited write (unless its waiter was cancelled meanwhile)."""
    if not settled.done():
        settled.set_result(outcome)
