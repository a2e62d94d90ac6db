"""What caches may do with the service's answers.

Every read of a shipment, its past or a list can change with the next write (an
erasure rewrites even the past), and nothing here is worth a stale copy: so every
answer a cache could keep says ``no-cache`` — keep it if you like, but ask the
server before each reuse (with ``If-None-Match`` where there is an ETag). Without
it, RFC 9111 lets a cache choose its own freshness for a 200 and serve it stale.
"""

from __future__ import annotations

from typing import Any

REVALIDATE = "no-cache"
"""The ``Cache-Control`` of every cacheable read."""

CACHE_CONTROL_HEADER: dict[str, Any] = {
    "Cache-Control": {
        "description": "`no-cache`: a cache must ask again before reusing the answer",
        "schema": {"type": "string"},
    }
}
"""The header as the OpenAPI document shows it."""
