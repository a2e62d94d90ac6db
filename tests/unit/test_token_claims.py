"""What an access token's claims say: the role, the actor, and whether it is in date."""

from __future__ import annotations

from typing import Any

import pytest

from api.plumbing.principals import Role
from api.plumbing.token_claims import actor, strongest_role, time_refusal

NOW = 1_800_000_000.0


@pytest.mark.parametrize(
    ("claims", "path", "role"),
    [
        ({"roles": ["reader"]}, "roles", Role.READER),
        ({"roles": ["reader", "admin", "writer"]}, "roles", Role.ADMIN),
        ({"roles": "openid writer reader"}, "roles", Role.WRITER),
        ({"roles": ["Writer", "offline_access"]}, "roles", None),  # names are exact
        ({"roles": []}, "roles", None),
        ({"roles": {"writer": True}}, "roles", None),
        ({}, "roles", None),
        ({"realm_access": {"roles": ["writer"]}}, "realm_access.roles", Role.WRITER),
        ({"realm_access": ["writer"]}, "realm_access.roles", None),
        (
            {"https://shipments.example/roles": ["admin"]},
            "https://shipments.example/roles",
            Role.ADMIN,
        ),
        ({"scope": "openid shipments reader"}, "scope", Role.READER),
    ],
)
def test_the_strongest_known_role_in_the_claim_wins(
    claims: dict[str, Any], path: str, role: Role | None
) -> None:
    assert strongest_role(claims, path) is role


@pytest.mark.parametrize(
    ("claims", "name", "expected"),
    [
        ({"sub": "wanda"}, "sub", "wanda"),
        ({"sub": "  "}, "sub", None),
        ({"oid": 42}, "oid", "42"),
        ({"sub": True}, "sub", None),
        ({"sub": ["a"]}, "sub", None),
        ({"user": {"email": "w@example.com"}}, "user.email", "w@example.com"),
        ({}, "sub", None),
    ],
)
def test_the_actor_is_the_configured_claim_as_text(
    claims: dict[str, Any], name: str, expected: str | None
) -> None:
    assert actor(claims, name) == expected


@pytest.mark.parametrize(
    ("claims", "refusal"),
    [
        ({"exp": NOW + 1}, None),
        ({"exp": NOW - 60}, None),
        ({"exp": NOW - 60.5}, "the token has expired"),
        ({}, "the token has no exp claim"),
        ({"exp": "soon"}, "the token's exp claim is not a number"),
        ({"exp": True}, "the token's exp claim is not a number"),
        ({"exp": NOW + 600, "nbf": NOW + 60}, None),
        ({"exp": NOW + 600, "nbf": NOW + 61}, "the token is not valid yet"),
        ({"exp": NOW + 600, "iat": NOW + 60}, None),
        ({"exp": NOW + 600, "iat": NOW + 61}, "the token is issued in the future"),
        ({"exp": NOW + 600, "iat": "yesterday"}, "the token's iat claim is not a number"),
    ],
)
def test_times_are_checked_with_sixty_seconds_of_leeway(
    claims: dict[str, Any], refusal: str | None
) -> None:
    assert time_refusal(claims, NOW) == refusal
