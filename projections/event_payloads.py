"""Shipment events in the API's public form: camelCase names, JSON values, no internals.

The change feed shows each event's own payload (what it recorded), so a
consumer needs no knowledge of our classes: the library's bookkeeping (ids,
topics, timestamps, which the feed item already carries) is left out, value
objects become the same JSON as in a shipment representation.
"""

from __future__ import annotations

from dataclasses import fields, is_dataclass
from datetime import date, datetime
from enum import Enum
from typing import Any
from uuid import UUID

from domain.personal_data import ERASED_FIELDS_ATTRIBUTE
from domain.values import Address
from projections.shipment_document import address_document, format_timestamp

# The library's own attributes of every event: shown elsewhere or internal.
_BOOKKEEPING = frozenset(
    {
        "originator_id",
        "originator_version",
        "timestamp",
        "originator_topic",
        ERASED_FIELDS_ATTRIBUTE,
    }
)


def event_type(event: Any) -> str:
    """The event's name as clients see it: ``Created``, ``Revised``, ``StatusChanged``,
    ``PersonalDataErased``."""
    return type(event).__name__


def event_payload(event: Any) -> dict[str, Any]:
    """What the event recorded, camelCase and JSON-ready."""
    return {
        public_name(name): public_value(value)
        for name, value in vars(event).items()
        if name not in _BOOKKEEPING
    }


def feed_item(position: int, event: Any) -> dict[str, Any]:
    """One entry of ``/v1/events``."""
    return {
        "position": position,
        "shipmentId": str(event.originator_id),
        "version": event.originator_version,
        "type": event_type(event),
        "recordedAt": format_timestamp(event.timestamp),
        "data": event_payload(event),
    }


def public_name(name: str) -> str:
    """``request_id`` → ``requestId`` (the API's naming of every domain name)."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def public_value(value: Any) -> Any:
    """A recorded value as the API shows it (addresses, enums, dates as in documents)."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Address):
        return address_document(value)
    if isinstance(value, datetime):
        return format_timestamp(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if is_dataclass(value) and not isinstance(value, type):
        return {public_name(f.name): public_value(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, dict):
        return {public_name(str(k)): public_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [public_value(v) for v in value]
    return value
