"""A write as the committer runs it: a decision to make on the current state, and its outcome.

The caller does not hand over a finished event. It hands over *how to decide*
(``decide``): the committer reads the shipment's current state inside the append
transaction, with the shipment's row locked, runs the decision on a private copy
of it and appends whatever event that records. So a write is always decided on
the state it is appended after — there is no "lost race" for a caller to
handle — and two writes to one shipment in one batch are decided one after the
other, the second on the first's result.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from domain.shipment import Shipment
from infrastructure.idempotency import IdempotencyClaim, IdempotencyRecord

Decide = Callable[[Shipment | None], Shipment]
"""Given a private copy of the current state (None: no such shipment), the shipment
to save: the same object after a command (or a new one, for a create). It is
appended when it has pending events, and answered unchanged when it has none.
Anything it raises is that write's refusal, handed back to its caller."""


@dataclass(frozen=True)
class WriteCommand:
    """One write to decide and append inside the committer's transaction."""

    shipment_id: UUID | None  # None for a create: there is no current state to read
    decide: Decide
    claim: IdempotencyClaim | None = None  # the request's Idempotency-Key, if it has one


@dataclass(frozen=True)
class WriteOutcome:
    """What became of a write once its transaction ended.

    Exactly one of: ``shipment`` (the state after the write; ``appended`` tells
    whether it moved the version, and then ``document`` is its public
    representation, rendered once for the view row), ``replay`` (an earlier write with the same
    Idempotency-Key, whose answer is to be given again), or ``error`` (the
    decision's refusal, or the store's failure).
    """

    shipment: Shipment | None = None
    appended: bool = False
    document: bytes | None = None  # the appended state's document, as the view stored it
    event: Any = None  # the event appended (when ``appended``)
    replay: IdempotencyRecord | None = None
    error: BaseException | None = None


Notify = Callable[[WriteOutcome], None]
"""Called once with a write's outcome, on the committer's thread: it must be quick
(an event loop's ``call_soon_threadsafe``, a future's ``set_result``)."""
