"""``X-Request-ID``: accepted from the client (when sane) or generated (echoed by the pipeline)."""

from __future__ import annotations

import itertools
import re
import secrets

# A random per-process prefix and a counter: unique across processes and hosts,
# without reading the OS's random source on every request (measurable on a GET).
_PROCESS_PREFIX = secrets.token_hex(8)
_SEQUENCE = itertools.count(1)
_SANE = re.compile(r"^[A-Za-z0-9._:\-/+=@]{1,128}$")


def choose_request_id(sent: str | None) -> str:
    """Keep a client's id if it is short and printable; otherwise make one."""
    if sent and _SANE.match(sent):
        return sent
    return f"{_PROCESS_PREFIX}{next(_SEQUENCE):08x}"
