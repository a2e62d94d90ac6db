"""Response models of the reading-the-past endpoints: their schema in ``/openapi.json``.

The routers render the bodies themselves (``projections.shipment_history``,
``projections.event_payloads``); these models document exactly that shape.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

_OUTPUT = ConfigDict(populate_by_name=True)

EventType = Literal["Created", "Revised", "StatusChanged", "PersonalDataErased"]


class FieldChange(BaseModel):
    """A public field's value before and after one event (addresses as whole objects)."""

    model_config = _OUTPUT

    from_: Any = Field(alias="from", description="null when the event created the shipment")
    to: Any
    erased: bool | None = Field(
        default=None,
        description="true when the event changed this personal field but its values were "
        "erased since (from and to are then null); absent otherwise",
    )


class HistoryItem(BaseModel):
    """One event of a shipment's stream."""

    model_config = _OUTPUT

    version: int = Field(description="The version this event produced (its stream position)")
    type: EventType
    recorded_at: str = Field(alias="recordedAt", description="RFC 3339, UTC")
    actor: str | None = Field(description="Who caused it (the token's subject)")
    request_id: str | None = Field(alias="requestId", description="The X-Request-ID it came with")
    changes: dict[str, FieldChange] = Field(
        description="Each public field the event set (camelCase); server-owned fields "
        "(id, eTag, version, createdAt, updatedAt) are left out"
    )
    based_on: int | None = Field(
        alias="basedOn",
        description="The older version a merged write (Prefer: conflict=merge) was based on; "
        "null unless merged",
    )


class HistoryPage(BaseModel):
    """A page of history, oldest first."""

    model_config = _OUTPUT

    items: list[HistoryItem]
    next_after: int | None = Field(
        alias="nextAfter", description="Pass as `after` for the next page; null at the end"
    )


class FeedItem(BaseModel):
    """One event in the global change feed."""

    model_config = _OUTPUT

    position: int = Field(description="Strictly increasing in commit order; may skip numbers")
    shipment_id: str = Field(alias="shipmentId")
    version: int
    type: EventType
    recorded_at: str = Field(alias="recordedAt", description="RFC 3339, UTC")
    data: dict[str, Any] = Field(
        description="What the event recorded, camelCase: Created has `details`; Revised has "
        "`changes`, `newStatus` and `previous` (null for events recorded before it existed); "
        "StatusChanged has `oldStatus` and `newStatus`; all have `actor` and `requestId`, "
        "Revised and StatusChanged `basedOn` (null unless merged)"
    )


class FeedPage(BaseModel):
    """A page of the change feed."""

    model_config = _OUTPUT

    items: list[FeedItem]
    next_after: int | None = Field(
        alias="nextAfter",
        description="Position to pass as `after` when more events are already committed; "
        "null when caught up (poll again with the last item's position)",
    )
