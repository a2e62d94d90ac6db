"""Answers with a shipment as it was: ``versions/{n}`` and ``?asOf=<instant>``.

Both are computed from the stream (snapshot plus at most one snapshot interval
of events), never from the view, and rendered by ``shipment_document`` like the
write that produced the version, so they equal its answer byte for byte.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from fastapi.responses import Response

from api.http.caching import REVALIDATE
from api.http.etags import etag_header, if_none_match_matches, parse_condition
from api.http.instants import in_utc, rfc3339_moment
from api.http.problems import HttpProblem, validation_problem
from api.wiring import Services
from infrastructure.stream_reader import StreamReader
from projections.as_of import AsOfLookup
from projections.shipment_document import encode_document, format_timestamp


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
    return in_utc(moment)


def version_response(
    services: Services, shipment_id: UUID, version: int, if_none_match: str | None
) -> Response:
    """The shipment at ``version`` with its ETag (304 when If-None-Match names it)."""
    headers = {"ETag": etag_header(shipment_id, version), "Cache-Control": REVALIDATE}
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
