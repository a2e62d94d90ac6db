"""The answer to a read of a shipment's current state: its stored document and ETag."""

from __future__ import annotations

from uuid import UUID

from fastapi.responses import Response

from api.http.etags import etag_header, if_none_match_matches, parse_condition

_NO_CACHE = (b"cache-control", b"no-cache")
_JSON = (b"content-type", b"application/json")


class StoredDocumentResponse(Response):
    """A response whose headers are given ready-made: the most frequent answer of all.

    Starlette's ``Response`` works its headers out from keyword arguments on every
    answer; here they are four known lines, in the order a ``Response`` would list them.
    """

    def __init__(self, status_code: int, raw_headers: list[tuple[bytes, bytes]], body: bytes):
        self.status_code = status_code
        self.background = None
        self.body = body
        self.raw_headers = raw_headers


def current_state_response(
    shipment_id: UUID, version: int, document: bytes, if_none_match: str | None
) -> Response:
    """200 with the document, or 304 when ``If-None-Match`` names the current version.

    ``no-cache``: a cache may keep the answer but must revalidate it, since any
    write may change it; the ETag makes revalidation a 304.
    """
    etag = (b"etag", etag_header(shipment_id, version).encode("latin-1"))
    if if_none_match is not None and if_none_match_matches(
        parse_condition(if_none_match), shipment_id, version
    ):
        # As Starlette answers a 304: no body, so neither length nor type.
        return StoredDocumentResponse(304, [etag, _NO_CACHE], b"")
    length = (b"content-length", str(len(document)).encode("latin-1"))
    return StoredDocumentResponse(200, [etag, _NO_CACHE, length, _JSON], document)
