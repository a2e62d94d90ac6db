"""Answers with a shipment as it was: ``versions/{n}`` and ``?asOf=<instant>``.

Both are computed from the stream (snapshot plus at most one snapshot interval
of events), never from the view, and rendered by ``shipment_document`` like the
write that produced the version, so they equal its answer byte for byte.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from uuid import UUID

from fastapi.responses import Response

from api.http.etags import etag_header, if_none_match_matches, parse_condition
from api.http.problems import HttpProblem, validation_problem
from api.wiring import Services
from infrastructure.stream_reader import StreamReader
from projections.as_of import AsOfLookup
from projections.shipment_document import encode_document, format_timestamp

# RFC 3339 date-time: a full date, "T" (or space, as the RFC allows), a time with
# optional fraction, and a mandatory offset. Anything looser (dates alone, epoch
# numbers, missing zones) would be a guess about which instant was meant.
_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$"
)
_LATEST = datetime.max.replace(tzinfo=UTC)


def parse_instant(text: str, field: str = "asOf") -> datetime:
    """An RFC 3339 timestamp with its time zone, in UTC; anything else is a 422 naming ``field``."""
    moment = rfc3339_moment(text)
    if moment is None:
        raise validation_problem(
            [
                {
                    "field": field,
                    "reason": "must be an RFC 3339 timestamp with a time zone, "
                    "e.g. 2020-05-01T18:56:13Z",
                }
            ]
        )
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00:00+01:00 and the like: beyond any record.
        return datetime.min.replace(tzinfo=UTC) if moment.year == 1 else _LATEST


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


def version_response(
    services: Services, shipment_id: UUID, version: int, if_none_match: str | None
) -> Response:
    """The shipment at ``version`` with its ETag (304 when If-None-Match names it)."""
    headers = {"ETag": etag_header(shipment_id, version)}
    shipment = services.shipments.load_version(shipment_id, version)
    if if_none_match is not None and if_none_match_matches(
        parse_condition(if_none_match), shipment_id, version
    ):
        return Response(status_code=304, headers=headers)
    return Response(
        content=encode_document(shipment), media_type="application/json", headers=headers
    )


def as_of_response(
    services: Services, shipment_id: UUID, as_of: str, if_none_match: str | None
) -> Response:
    """The shipment as it was at the instant ``as_of``; 404 before it was created."""
    instant = parse_instant(as_of)
    lookup = AsOfLookup(services.version_index, StreamReader(services.store), services.shipments)
    version = lookup.version_at(shipment_id, instant)
    if version is None:
        raise HttpProblem(404, f"the shipment did not exist yet at {format_timestamp(instant)}")
    return version_response(services, shipment_id, version, if_none_match)
