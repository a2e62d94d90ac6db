"""The HTTP side of ``Idempotency-Key``: validating keys and fingerprinting requests."""

from __future__ import annotations

import hashlib
import re

import orjson

from api.http.problems import HttpProblem

# Printable ASCII without space (%x21-7E), 1 to 255 of them. The OpenAPI document
# declares the key with these same values (``api.http.openapi_docs``).
KEY_PATTERN = r"^[!-~]+$"
KEY_MAX_LENGTH = 255
_VALID_KEY = re.compile(KEY_PATTERN)


def validated_key(header: str | None) -> str | None:
    """The key, if sent; 400 if it is empty, too long or not printable ASCII."""
    if header is None:
        return None
    if len(header) > KEY_MAX_LENGTH or not _VALID_KEY.fullmatch(header):
        raise HttpProblem(
            400, f"Idempotency-Key must be 1 to {KEY_MAX_LENGTH} printable ASCII characters"
        )
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
