"""ETag formatting and ``If-Match`` / ``If-None-Match`` evaluation (RFC 9110 §13.1).

Pure functions, tested table-driven. Both the quoted form and the bare form of
older clients are accepted; a weak tag never passes the strong comparison that
``If-Match`` uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from projections.version_tags import decode_tag, encode_tag


@dataclass(frozen=True)
class EntityTag:
    """One member of an If-Match / If-None-Match list."""

    opaque: str
    weak: bool = False


@dataclass(frozen=True)
class TagCondition:
    """A parsed precondition header: ``*`` or a list of entity tags."""

    any_current: bool
    tags: tuple[EntityTag, ...] = ()


def etag_header(shipment_id: UUID, version: int) -> str:
    """The strong, quoted ETag header value for a shipment version."""
    return f'"{encode_tag(shipment_id, version)}"'


def parse_condition(header: str) -> TagCondition:
    """Parse ``*``, ``"a"``, ``W/"a"``, bare ``a`` or comma-separated lists of them."""
    if header.strip() == "*":
        return TagCondition(any_current=True)
    tags: list[EntityTag] = []
    for member in _split_members(header):
        weak = member.startswith(("W/", "w/"))
        value = member[2:].strip() if weak else member
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        if value and '"' not in value:
            tags.append(EntityTag(value, weak))
    return TagCondition(any_current=False, tags=tuple(tags))


def if_match_passes(condition: TagCondition, shipment_id: UUID, version: int) -> bool:
    """Strong comparison: only a strong tag naming this shipment at this version passes."""
    if condition.any_current:
        return True
    return any(not tag.weak and _names(tag.opaque, shipment_id, version) for tag in condition.tags)


def if_none_match_matches(condition: TagCondition, shipment_id: UUID, version: int) -> bool:
    """Weak comparison (as RFC 9110 prescribes for If-None-Match): W/ is ignored."""
    if condition.any_current:
        return True
    return any(_names(tag.opaque, shipment_id, version) for tag in condition.tags)


def newest_named_version(condition: TagCondition, shipment_id: UUID, below: int) -> int | None:
    """The newest version of this shipment before ``below`` that a strong tag names, if any.

    What a stale ``If-Match`` says its writer read: the base of its changes.
    """
    named = [
        decoded.version
        for tag in condition.tags
        if not tag.weak
        and (decoded := decode_tag(tag.opaque)) is not None
        and decoded.shipment_id == shipment_id
        and 1 <= decoded.version < below
    ]
    return max(named, default=None)


def _names(opaque: str, shipment_id: UUID, version: int) -> bool:
    decoded = decode_tag(opaque)
    return decoded is not None and decoded.shipment_id == shipment_id and decoded.version == version


def _split_members(header: str) -> list[str]:
    """Split on commas outside quotes (entity tags may not contain quotes)."""
    members: list[str] = []
    current: list[str] = []
    quoted = False
    for char in header:
        if char == '"':
            quoted = not quoted
        if char == "," and not quoted:
            members.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    members.append("".join(current).strip())
    return [m for m in members if m]
