"""Standard Webhooks signatures (standardwebhooks.com): what a receiver checks.

``webhook-signature`` is ``v1,`` and the base64 HMAC-SHA256 of
``"{id}.{timestamp}.{body}"`` keyed with the secret's bytes (the base64 after
``whsec_``); during a rotation one such signature per secret, space-separated.
Written here rather than taken from the ``standardwebhooks`` package because it
is a few lines and the service should not depend on a receiver's library; the
tests verify with that library.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence
from functools import lru_cache

from infrastructure.delivery.subscriptions import SECRET_PREFIX


def secret_key(secret: str) -> bytes:
    """The HMAC key a ``whsec_…`` secret stands for."""
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


@lru_cache(maxsize=1024)
def _keyed(secret: str) -> hmac.HMAC:
    """An HMAC keyed with the secret, copied per message: the key is decoded and
    padded once per secret, not once per delivery."""
    return hmac.new(secret_key(secret), digestmod=hashlib.sha256)


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """One ``v1,…`` signature of a message."""
    mac = _keyed(secret).copy()
    mac.update(f"{message_id}.{timestamp}.".encode())
    mac.update(body)
    return "v1," + base64.b64encode(mac.digest()).decode("ascii")


def signature_headers(
    secrets: Sequence[str], message_id: str, timestamp: int, body: bytes
) -> dict[str, str]:
    """The three headers of a delivery, signed with every secret given."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(
            signature(secret, message_id, timestamp, body) for secret in secrets
        ),
    }
