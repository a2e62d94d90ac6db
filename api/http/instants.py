"""Instants as clients write them (RFC 3339 with a zone), read once and held in UTC.

Every instant a request names (``asOf``, ``updatedSince``) goes through here, so
that the rest of the service only ever sees UTC. An offset can push the first or
the last representable local time out of Python's range once converted
(``0001-01-01T00:00:00+14:00`` is in year 0): such an instant is before or after
anything ever recorded, so it is held as the earliest or latest UTC instant,
which compares with every record the same way.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

# RFC 3339 date-time: a full date, "T" (or space, as the RFC allows), a time with
# optional fraction, and a mandatory offset. Anything looser (dates alone, epoch
# numbers, missing zones) would be a guess about which instant was meant.
_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$"
)
EARLIEST = datetime.min.replace(tzinfo=UTC)
LATEST = datetime.max.replace(tzinfo=UTC)


def rfc3339_moment(text: str) -> datetime | None:
    """The instant an RFC 3339 timestamp with a zone names, or None for any other text."""
    if not _RFC3339.match(text):
        return None
    normalised = text.upper().replace(" ", "T").replace("Z", "+00:00")
    head, dot, tail = normalised.partition(".")
    if dot:  # Python keeps microseconds: drop any finer digits, keep the offset.
        digits = re.match(r"\d+", tail)
        assert digits is not None
        normalised = f"{head}.{digits.group()[:6].ljust(6, '0')}{tail[digits.end() :]}"
    try:
        return datetime.fromisoformat(normalised)
    except ValueError:
        return None


def in_utc(moment: datetime) -> datetime:
    """``moment`` (timezone-aware) in UTC; beyond UTC's range, its earliest or latest instant."""
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        return EARLIEST if moment.year == 1 else LATEST
