"""The answer to a read of a shipment's current state: its stored document and ETag."""

from __future__ import annotations

from uuid import UUID

from fastapi.responses import Response

from api.http.etags import etag_header, if_none_match_matches, parse_condition


def current_state_response(
    shipment_id: UUID, version: int, document: bytes, if_none_match: str | None
) -> Response:
    """200 with the document, or 304 when ``If-None-Match`` names the current version.

    ``no-cache``: a cache may keep the answer but must revalidate it, since any
    write may change it; the ETag makes revalidation a 304.
    """
    headers = {"ETag": etag_header(shipment_id, version), "Cache-Control": "no-cache"}
    if if_none_match is not None and if_none_match_matches(
        parse_condition(if_none_match), shipment_id, version
    ):
        return Response(status_code=304, headers=headers)
    return Response(content=document, media_type="application/json", headers=headers)
