"""The HTTP side of ``Idempotency-Key``: validating keys and fingerprinting requests."""

from __future__ import annotations

import hashlib
import re

import orjson

from api.http.problems import HttpProblem

_VALID_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


def validated_key(header: str | None) -> str | None:
    """The key, if sent; 400 if it is empty, too long or not printable ASCII."""
    if header is None:
        return None
    if not _VALID_KEY.match(header):
        raise HttpProblem(400, "Idempotency-Key must be 1 to 255 printable ASCII characters")
    return header


def request_fingerprint(method: str, path: str, raw_body: bytes) -> str:
    """Same method, path and JSON content (whatever its formatting) → same fingerprint."""
    try:
        canonical = orjson.dumps(orjson.loads(raw_body), option=orjson.OPT_SORT_KEYS)
    except orjson.JSONDecodeError:
        canonical = raw_body
    digest = hashlib.sha256()
    for part in (method.upper().encode(), path.encode(), canonical):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()
