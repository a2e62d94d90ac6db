"""What the claims of a verified access token say: who, which role, and whether it is in date.

Pure functions over the claims and a time, so each rule has a table-driven test
and the verifier (``api.plumbing.jwt_tokens``) can be given any clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from api.plumbing.principals import Role

LEEWAY_SECONDS = 60.0
EXPIRED = "the token has expired"
_STRENGTH = {Role.READER: 1, Role.WRITER: 2, Role.ADMIN: 3}


def claim_at(claims: Mapping[str, Any], path: str) -> object:
    """The value at a dotted ``path`` (``realm_access.roles``), or None.

    A claim whose own name has a dot (Auth0's namespaced ``https://x.io/roles``)
    is found by its full name first.
    """
    if path in claims:
        return claims[path]
    value: object = claims
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def strongest_role(claims: Mapping[str, Any], path: str) -> Role | None:
    """The strongest of ``reader``/``writer``/``admin`` in the roles claim, or None.

    The claim is a list or a space-separated string (as OAuth ``scope`` is);
    other values in it (a provider's own roles) are ignored.
    """
    value = claim_at(claims, path)
    if isinstance(value, str):
        names: list[object] = list(value.split())
    elif isinstance(value, list):
        names = value
    else:
        return None
    roles = [Role(name) for name in names if name in {role.value for role in Role}]
    return max(roles, key=_STRENGTH.__getitem__, default=None)


def actor(claims: Mapping[str, Any], name: str) -> str | None:
    """The configured actor claim as the text recorded on events, or None when unusable."""
    value = claim_at(claims, name)
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = str(value).strip()
    return text or None


def expiry(claims: Mapping[str, Any]) -> float | None:
    """``exp`` as seconds since the epoch; None when absent or not a number."""
    return _instant(claims.get("exp"))


def time_refusal(claims: Mapping[str, Any], now: float) -> str | None:
    """Why the token is out of date at ``now`` (60 s of leeway each way), or None.

    ``exp`` is required (RFC 9068 §2.2); ``nbf`` and ``iat`` are checked when present.
    """
    if "exp" not in claims:
        return "the token has no exp claim"
    expires = expiry(claims)
    if expires is None:
        return "the token's exp claim is not a number"
    if now > expires + LEEWAY_SECONDS:
        return EXPIRED
    for name, description in (("nbf", "is not valid yet"), ("iat", "is issued in the future")):
        if name not in claims:
            continue
        instant = _instant(claims[name])
        if instant is None:
            return f"the token's {name} claim is not a number"
        if instant > now + LEEWAY_SECONDS:
            return f"the token {description}"
    return None


def _instant(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)
