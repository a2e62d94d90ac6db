"""The list view: filters, sort orders, keyset pages and their opaque cursor.

A page ends at the sort key and id of its last item; the next page starts
strictly after that pair (keyset pagination). Positions never shift when
shipments are added, so paging while new shipments arrive never repeats or
skips an item that was there before. (A shipment *changed* between two pages
moves in ``updatedAt`` order, as it should: it is now newer.)

Every filter and sort here is backed by one of ``LIST_INDEXES``, so a query
walks an index in sort order and stops after a page, however big the view.
The SQL is written once for both stores; ``ListDialect`` holds what differs.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any
from uuid import UUID

import orjson

DEFAULT_LIMIT = 50
MAX_LIMIT = 200

# Shipments without a delivery date sort after every dated one: the sort key is
# the date, or this sentinel. Index and query use the very same expression.
NO_DELIVERY_DATE = date.max
SQLITE_DELIVERY_KEY = f"COALESCE(delivery_date, '{NO_DELIVERY_DATE.isoformat()}')"
POSTGRES_DELIVERY_KEY = f"COALESCE(delivery_date, DATE '{NO_DELIVERY_DATE.isoformat()}')"


class SortOrder(Enum):
    """How a list is ordered; the id breaks ties, so every order is total."""

    UPDATED_AT = "updatedAt"  # newest first
    DELIVERY_DATE = "deliveryDate"  # soonest first, undated shipments last


def list_indexes(delivery_key: str) -> tuple[tuple[str, str], ...]:
    """(name suffix, indexed columns) for every filter and sort of the list.

    One index leads with each equality filter and continues with each sort key,
    and one leads with each sort key alone (it also serves the date ranges and
    ``updatedSince``).
    """
    by_updated = "updated_at, id"
    by_delivery = f"({delivery_key}), id"
    return (
        ("updated", by_updated),
        ("delivery", by_delivery),
        ("status_updated", f"status, {by_updated}"),
        ("status_delivery", f"status, {by_delivery}"),
        ("type_updated", f"shipment_type, {by_updated}"),
        ("type_delivery", f"shipment_type, {by_delivery}"),
        ("state_updated", f"destination_state, {by_updated}"),
        ("state_delivery", f"destination_state, {by_delivery}"),
    )


@dataclass(frozen=True)
class ListFilters:
    """What a client narrows the list to; ``None`` means "any"."""

    status: str | None = None
    shipment_type: str | None = None
    destination_state: str | None = None
    delivery_date_from: date | None = None  # inclusive
    delivery_date_to: date | None = None  # inclusive
    updated_since: datetime | None = None  # inclusive, in UTC


@dataclass(frozen=True)
class ListPosition:
    """Where a page ended: the sort key of its last item (``None``: no delivery date) and id."""

    sort: SortOrder
    key: datetime | date | None
    shipment_id: UUID


@dataclass(frozen=True)
class ListQuery:
    """One page request against the view."""

    filters: ListFilters = field(default_factory=ListFilters)
    sort: SortOrder = SortOrder.UPDATED_AT
    limit: int = DEFAULT_LIMIT
    after: ListPosition | None = None


@dataclass(frozen=True)
class ListedRow:
    """One view row as the list reads it."""

    shipment_id: UUID
    updated_at: datetime
    delivery_date: date | None
    document: bytes


@dataclass(frozen=True)
class ListPage:
    """The stored documents of one page, and the cursor of the next (``None`` at the end)."""

    documents: Sequence[bytes]
    next_cursor: str | None

    def to_json(self) -> bytes:
        """The response body, built around the stored documents without re-parsing them."""
        items = b",".join(self.documents)
        return b'{"items":[' + items + b'],"nextCursor":' + orjson.dumps(self.next_cursor) + b"}"


class InvalidCursor(ValueError):
    """A cursor this service did not issue for this sort order."""


def encode_cursor(position: ListPosition) -> str:
    """An opaque token naming ``position`` (base64url JSON, no padding)."""
    key = position.key
    if isinstance(key, datetime):
        text: str | None = key.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    else:
        text = None if key is None else key.isoformat()
    payload = orjson.dumps({"s": position.sort.value, "k": text, "i": position.shipment_id.hex})
    return base64.urlsafe_b64encode(payload).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: str, sort: SortOrder) -> ListPosition:
    """The position a cursor names; ``InvalidCursor`` if it is not one of ours for ``sort``."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload = orjson.loads(raw)
        sort_name, key_text, id_text = payload["s"], payload["k"], payload["i"]
        shipment_id = UUID(hex=id_text)
    except (binascii.Error, ValueError, KeyError, TypeError) as error:
        raise InvalidCursor("not a cursor issued by this list") from error
    if sort_name != sort.value:
        raise InvalidCursor(f"this cursor belongs to sort={sort_name}")
    try:
        key: datetime | date | None
        if sort is SortOrder.UPDATED_AT:
            key = datetime.fromisoformat(key_text)
            if key.tzinfo is None:
                raise ValueError("naive timestamp")
            key = key.astimezone(UTC)  # what we issue is UTC; the SQL compares it as such
        else:
            key = None if key_text is None else date.fromisoformat(key_text)
    except (TypeError, ValueError, OverflowError) as error:
        raise InvalidCursor("not a cursor issued by this list") from error
    return ListPosition(sort, key, shipment_id)


@dataclass(frozen=True)
class ListDialect:
    """What the list's SQL needs to know about one store."""

    placeholder: str
    delivery_key: str
    # SQLite seeks an index with a row value on columns, not on an expression:
    # there the keyset condition is spelt out so that its first term is a range.
    spelt_out_keyset: bool
    shipment_id: Callable[[UUID], Any]
    day: Callable[[date], Any]
    moment: Callable[[datetime], Any]


SQLITE_LIST = ListDialect(
    placeholder="?",
    delivery_key=SQLITE_DELIVERY_KEY,
    spelt_out_keyset=True,
    shipment_id=lambda value: value.hex,
    day=lambda value: value.isoformat(),
    # The view stores ``updated_at.isoformat()`` in UTC; comparing text needs the same form.
    moment=lambda value: value.astimezone(UTC).isoformat(),
)
POSTGRES_LIST = ListDialect(
    placeholder="%s",
    delivery_key=POSTGRES_DELIVERY_KEY,
    spelt_out_keyset=False,
    shipment_id=lambda value: value,
    day=lambda value: value,
    moment=lambda value: value,
)


def list_statement(query: ListQuery, dialect: ListDialect) -> tuple[str, list[Any]]:
    """SELECT for one page (one row more than the limit, to know if another page follows).

    The text contains ``{table}``, which the view fills in with its own table.
    """
    p = dialect.placeholder
    key = dialect.delivery_key
    conditions: list[str] = []
    params: list[Any] = []
    filters = query.filters
    for column, value in (
        ("status", filters.status),
        ("shipment_type", filters.shipment_type),
        ("destination_state", filters.destination_state),
    ):
        if value is not None:
            conditions.append(f"{column} = {p}")
            params.append(value)
    # Date ranges are written on the sort expression, so its index serves them too.
    if filters.delivery_date_from is not None and not _cursor_bounds_from(query):
        conditions.append(f"{key} >= {p}")
        params.append(dialect.day(filters.delivery_date_from))
    if filters.delivery_date_to is not None:
        conditions.append(f"{key} <= {p}")
        params.append(dialect.day(filters.delivery_date_to))
    if filters.delivery_date_from is not None or filters.delivery_date_to is not None:
        conditions.append("delivery_date IS NOT NULL")
    if filters.updated_since is not None:
        conditions.append(f"updated_at >= {p}")
        params.append(dialect.moment(filters.updated_since))
    if query.sort is SortOrder.UPDATED_AT:
        sort_key, direction, beyond = "updated_at", "DESC", "<"
    else:
        sort_key, direction, beyond = key, "ASC", ">"
    if query.after is not None and not _range_bounds_cursor(query):
        key_param = _key_param(query.after, dialect)
        id_param = dialect.shipment_id(query.after.shipment_id)
        if dialect.spelt_out_keyset:
            conditions.append(
                f"{sort_key} {beyond}= {p} AND ({sort_key} {beyond} {p} OR id {beyond} {p})"
            )
            params += [key_param, key_param, id_param]
        else:
            conditions.append(f"({sort_key}, id) {beyond} ({p}, {p})")
            params += [key_param, id_param]
    where = f"WHERE {' AND '.join(conditions)} " if conditions else ""
    params.append(query.limit + 1)
    return (
        "SELECT id, updated_at, delivery_date, document FROM {table} "
        f"{where}ORDER BY {sort_key} {direction}, id {direction} LIMIT {p}",
        params,
    )


def page_of(rows: Sequence[ListedRow], query: ListQuery) -> ListPage:
    """The page for rows read with ``list_statement`` (which asked for one extra row)."""
    items = rows[: query.limit]
    next_cursor = None
    if len(rows) > query.limit:
        last = items[-1]
        key = last.updated_at if query.sort is SortOrder.UPDATED_AT else last.delivery_date
        next_cursor = encode_cursor(ListPosition(query.sort, key, last.shipment_id))
    return ListPage([row.document for row in items], next_cursor)


# Sorted by delivery date, a page after a cursor within a date range has two lower
# bounds on the same key. SQLite seeks its index with one of them and filters with
# the other, and it may pick the weaker: a page whose cursor lies before the range
# then walks every entry from the cursor up to the range. The two are compared here
# and only the stronger is written; either way the rows are the same.


def _cursor_bounds_from(query: ListQuery) -> bool:
    """The cursor is at or past ``delivery_date_from``: the keyset condition implies it."""
    start = query.filters.delivery_date_from
    after = query.after
    if start is None or after is None or query.sort is not SortOrder.DELIVERY_DATE:
        return False
    return _delivery_key(after) >= start


def _range_bounds_cursor(query: ListQuery) -> bool:
    """The cursor lies before ``delivery_date_from``: every row of the range is past it."""
    start = query.filters.delivery_date_from
    after = query.after
    if start is None or after is None or query.sort is not SortOrder.DELIVERY_DATE:
        return False
    return _delivery_key(after) < start


def _delivery_key(position: ListPosition) -> date:
    key = position.key
    if key is None:
        return NO_DELIVERY_DATE
    return key.date() if isinstance(key, datetime) else key


def _key_param(position: ListPosition, dialect: ListDialect) -> Any:
    if isinstance(position.key, datetime):
        return dialect.moment(position.key)
    return dialect.day(NO_DELIVERY_DATE if position.key is None else position.key)
