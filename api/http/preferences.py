"""The ``Prefer`` request header (RFC 7240): which preferences a request states.

Pure functions, tested table-driven. A header may hold several preferences, and
a request several ``Prefer`` lines (folded into one list); names compare without
case, values may be quoted, parameters after ``;`` are read past. Only the first
occurrence of a preference counts (RFC 7240 §2).
"""

from __future__ import annotations

MERGE_ON_CONFLICT = "conflict=merge"
"""The preference a stale write states to be merged; echoed in ``Preference-Applied``."""


def preferences(header: str | None) -> dict[str, str | None]:
    """Each preference's name (lower case) and value (unquoted; None when it has none)."""
    stated: dict[str, str | None] = {}
    for member in _split_outside_quotes(header or "", ","):
        if not member:
            continue
        preference = _split_outside_quotes(member, ";")[0]
        name, equals, value = preference.partition("=")
        name = name.strip().lower()
        if not name or name in stated:
            continue
        stated[name] = _unquoted(value.strip()) if equals else None
    return stated


def prefers_merge(header: str | None) -> bool:
    """Whether the request states ``conflict=merge``."""
    value = preferences(header).get("conflict")
    return value is not None and value.lower() == "merge"


def _unquoted(value: str) -> str:
    """A token as is; a quoted-string without its quotes and backslash escapes."""
    if len(value) < 2 or value[0] != '"' or value[-1] != '"':
        return value
    chars: list[str] = []
    escaped = False
    for char in value[1:-1]:
        if escaped or char != "\\":
            chars.append(char)
            escaped = False
        else:
            escaped = True
    return "".join(chars)


def _split_outside_quotes(text: str, separator: str) -> list[str]:
    """``text`` split on ``separator`` where it is not inside a quoted-string."""
    parts: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for char in text:
        if quoted and escaped:
            escaped = False
        elif quoted and char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == separator and not quoted:
            parts.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    parts.append("".join(current).strip())
    return parts
