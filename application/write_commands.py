"""What a write asks for, and what became of it: the write use case's language.

``api`` reads a request into a command (``CreateShipment``, ``ReviseShipment``)
and answers a ``WriteResult``; neither knows HTTP. A body the request could not
even be read as (another media type, malformed JSON) is carried as a
``BodyRefusal``: the use case answers it in its turn, after the preconditions,
as RFC 9110 orders (a stale tag is 412 even when the body is also malformed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal
from uuid import UUID

from domain.errors import IllegalTransition, ShipmentClosed
from domain.shipment import Shipment


@dataclass(frozen=True)
class BodyRefusal:
    """Why a request's body could not be read; the use case answers it as ``Invalid``."""

    error: Exception


Body = dict[str, Any] | BodyRefusal
"""A write's body as a JSON object in the API's names, or why it could not be read."""


@dataclass(frozen=True)
class Condition:
    """An ``If-Match`` or ``If-None-Match`` list, as what it says about one shipment.

    ``any_version``: ``*``. ``versions``: the versions of this shipment the
    list's tags name (for ``If-Match`` only its strong tags; RFC 9110's
    comparisons are the reader's to apply).
    """

    any_version: bool = False
    versions: frozenset[int] = frozenset()

    def names(self, version: int) -> bool:
        """Whether the list names ``version`` of the shipment (``*`` names any)."""
        return self.any_version or version in self.versions

    def newest_before(self, version: int) -> int | None:
        """The newest version before ``version`` the list names: what its writer read."""
        return max((v for v in self.versions if 1 <= v < version), default=None)

    def names_one_at_or_after(self, version: int) -> bool:
        """Whether the list names ``version`` or a later one (or is ``*``)."""
        return self.any_version or any(v >= version for v in self.versions)


@dataclass(frozen=True)
class Author:
    """Who asks for a write, under which request id, with which idempotency key.

    ``fingerprint`` tells two requests with one key apart (same request: same
    fingerprint); it is only read when ``idempotency_key`` is set.
    """

    actor: str
    request_id: str | None = None
    idempotency_key: str | None = None
    fingerprint: str = ""


@dataclass(frozen=True)
class CreateShipment:
    """Start a shipment (DRAFT, version 1) from a body of client-writable fields."""

    body: Body
    author: Author


@dataclass(frozen=True)
class ReviseShipment:
    """Replace (``replace``) or merge-patch (``patch``) one shipment, at most one event.

    ``expected``: ``If-Match`` (None: the write names no version, answered 428).
    ``unless``: ``If-None-Match``. ``merge``: apply a stale write to the current
    version when none of its fields changed since the version it names.
    """

    shipment_id: UUID
    kind: Literal["replace", "patch"]
    body: Body
    author: Author
    expected: Condition | None = None
    unless: Condition | None = None
    merge: bool = False


@dataclass(frozen=True)
class Written:
    """Accepted and appended: the shipment at its new version."""

    shipment: Shipment
    document: bytes | None = None  # its representation, rendered once for the view
    created: bool = False
    merged: bool = False  # a stale write applied to the current version


@dataclass(frozen=True)
class Unchanged:
    """Accepted, but it changed nothing: no event, the version stays."""

    shipment: Shipment
    document: bytes | None = None
    merged: bool = False  # a stale write merged onto the current version, to no change


@dataclass(frozen=True)
class Replayed:
    """A retry of a write already made with this key: that write's result, again."""

    shipment: Shipment  # the state at the version that write produced
    created: bool
    merged: bool


@dataclass(frozen=True)
class NotFound:
    """No such shipment."""

    shipment_id: UUID


@dataclass(frozen=True)
class PreconditionMissing:
    """A revision that names no version (no ``If-Match``): it cannot be checked."""

    shipment_id: UUID
    current_version: int


@dataclass(frozen=True)
class ChangesSince:
    """The history items after the version a stale writer read (at most a page)."""

    items: list[dict[str, Any]]
    complete: bool  # False when more followed (the client pages on with /history)


@dataclass(frozen=True)
class Stale:
    """The write's condition does not hold for the current version.

    ``reason``: ``changed`` (it names an older version: ``changes`` says what
    changed since, ``conflicting_fields`` what a merge found changed on both
    sides), ``foreign`` (it names no version of this shipment at all) or
    ``exists`` (``If-None-Match`` names the current version).
    """

    shipment_id: UUID
    current_version: int
    reason: Literal["changed", "foreign", "exists"]
    changes: ChangesSince | None = None
    conflicting_fields: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class Invalid:
    """The body is not a valid write: unreadable, invalid fields, or a key reused."""

    error: Exception


@dataclass(frozen=True)
class RefusedByRule:
    """A domain rule refuses the change (the status machine, a closed shipment)."""

    error: IllegalTransition | ShipmentClosed


WriteResult = (
    Written
    | Unchanged
    | Replayed
    | NotFound
    | PreconditionMissing
    | Stale
    | Invalid
    | RefusedByRule
)
"""Every way a write can end but a store failure (raised: ``StoreUnavailable``)."""
