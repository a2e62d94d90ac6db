"""Folds repeated list-valued request headers into one line (RFC 9110 §5.3).

A client (or a proxy) may send ``If-Match`` as several header lines; they mean
one comma-separated list. The request pipeline folds them, so every handler reads a
single value instead of silently using only the first line.
"""

from __future__ import annotations

FOLDED_HEADERS = frozenset({b"if-match", b"if-none-match", b"prefer"})


def fold_list_headers(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """The same headers with each repeated list-valued one joined by ``, `` in place."""
    seen: dict[bytes, int] = {}
    folded: list[tuple[bytes, bytes]] = []
    for name, value in headers:
        lowered = name.lower()
        if lowered in FOLDED_HEADERS and lowered in seen:
            index = seen[lowered]
            folded[index] = (folded[index][0], folded[index][1] + b", " + value)
            continue
        if lowered in FOLDED_HEADERS:
            seen[lowered] = len(folded)
        folded.append((name, value))
    return folded
