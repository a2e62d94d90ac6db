"""What an access token must not get past: each refusal is a 401 that says why (RFC 6750).

Reads only, so one store is enough (``store_kind`` is fixed to SQLite here).
"""

from __future__ import annotations

import base64
import hmac
import json
import re
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tests.security.test_authentication import assert_problem
from tests.support.auth_clients import bearer
from tests.support.identity_provider import AUDIENCE
from tests.support.oidc_clients import KEY_ALGORITHMS, OidcApp

SHIPMENTS = "/v1/shipments"
CHALLENGE = re.compile(
    r'^Bearer realm="shipments", error="invalid_token", error_description="([ -!#-\[\]-~]+)"$'
)


@pytest.fixture
def store_kind() -> str:
    return "sqlite"


def refusal(oidc: OidcApp, token: str) -> str:
    """The 401's error_description, after checking the answer's shape."""
    answer = oidc.client.get(SHIPMENTS, headers=bearer(token))
    assert_problem(answer, 401)
    match = CHALLENGE.match(answer.headers["WWW-Authenticate"])
    assert match, answer.headers["WWW-Authenticate"]
    assert match.group(1) in answer.json()["detail"]
    return match.group(1)


def segment(value: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def claims(oidc: OidcApp, **overrides: Any) -> dict[str, Any]:
    return {**oidc.provider.state.claims("mallory", ["admin"], now=oidc.clock()), **overrides}


@pytest.mark.parametrize("kid", list(KEY_ALGORITHMS))
def test_every_accepted_algorithm_is_accepted(oidc: OidcApp, kid: str) -> None:
    answer = oidc.client.get(SHIPMENTS, headers=bearer(oidc.token("ada", ["reader"], kid=kid)))
    assert answer.status_code == 200, answer.text


def test_an_unsigned_token_alg_none_is_refused(oidc: OidcApp) -> None:
    header = {"alg": "none", "typ": "JWT", "kid": "rsa-1"}
    token = f"{segment(header)}.{segment(claims(oidc))}."
    assert "algorithm is not accepted" in refusal(oidc, token)


def test_hmac_signed_with_the_providers_public_key_is_refused(oidc: OidcApp) -> None:
    """The classic confusion: the public key (known to all) used as an HMAC secret."""
    public = oidc.provider.state.keys["rsa-1"].private.public_key()
    pem = public.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    public_jwk = json.dumps(oidc.provider.state.keys["rsa-1"].public_jwk()).encode()
    for secret in (pem, public_jwk, b"any shared secret of thirty-two bytes!"):
        for algorithm, digest in (("HS256", "sha256"), ("HS384", "sha384"), ("HS512", "sha512")):
            header = {"alg": algorithm, "typ": "JWT", "kid": "rsa-1"}
            signed = f"{segment(header)}.{segment(claims(oidc))}"
            mac = hmac.new(secret, signed.encode(), digest).digest()
            token = f"{signed}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"
            assert "algorithm is not accepted" in refusal(oidc, token)


def test_a_key_the_provider_never_published_is_refused(oidc: OidcApp) -> None:
    oidc.provider.state.add_key("stranger", "RS256", publish=False)
    assert "not signed with a key of the identity provider" in refusal(
        oidc, oidc.token("mallory", ["admin"], kid="stranger")
    )


def test_a_token_signed_by_another_key_under_a_known_kid_is_refused(oidc: OidcApp) -> None:
    impostor = oidc.provider.state.add_key("impostor", "RS256", publish=False)
    token = jwt.encode(claims(oidc), impostor.private, algorithm="RS256", headers={"kid": "rsa-1"})
    assert refusal(oidc, token) == "the token's signature does not verify"


def test_an_algorithm_that_does_not_fit_its_key_is_refused(oidc: OidcApp) -> None:
    state = oidc.provider.state
    # The RSA key's JWK says RS256: a PS256 signature by the same key is not accepted.
    ps256_by_rs256_key = state.sign(claims(oidc), "rsa-1", algorithm="PS256")
    assert refusal(oidc, ps256_by_rs256_key) == "the token's algorithm does not fit its key"
    es256_header_on_rsa_kid = jwt.encode(
        claims(oidc), state.keys["ec-1"].private, algorithm="ES256", headers={"kid": "rsa-1"}
    )
    assert refusal(oidc, es256_header_on_rsa_kid) == "the token's algorithm does not fit its key"


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"iss": "https://evil.example.com"}, "the token is from another issuer"),
        ({"aud": "another-api"}, "the token is meant for another audience"),
        ({"aud": ["another-api", "a-third"]}, "the token is meant for another audience"),
        ({"exp": None}, "the token has no exp claim"),
        ({"iss": None}, "the token has no iss claim"),
        ({"aud": None}, "the token has no aud claim"),
        ({"sub": None}, "the token has no usable sub claim"),
        ({"exp": "tomorrow"}, "the token's exp claim is not a number"),
    ],
)
def test_claims_that_do_not_fit_are_refused(
    oidc: OidcApp, overrides: dict[str, Any], reason: str
) -> None:
    body = {key: value for key, value in claims(oidc, **overrides).items() if value is not None}
    assert refusal(oidc, oidc.provider.state.sign(body, "ec-1")) == reason


def test_an_audience_list_that_holds_ours_is_accepted(oidc: OidcApp) -> None:
    token = oidc.token("ada", ["reader"], aud=["account", AUDIENCE])
    assert oidc.client.get(SHIPMENTS, headers=bearer(token)).status_code == 200


@pytest.mark.parametrize(
    ("offsets", "accepted"),
    [
        ({"exp": -30}, True),  # expired 30 s ago: within the leeway
        ({"exp": -61}, False),
        ({"nbf": 30}, True),
        ({"nbf": 61}, False),
        ({"iat": 30}, True),
        ({"iat": 61}, False),
    ],
)
def test_times_are_checked_with_sixty_seconds_of_leeway(
    oidc: OidcApp, offsets: dict[str, int], accepted: bool
) -> None:
    now = int(oidc.clock())
    token = oidc.token("ada", ["reader"], **{name: now + s for name, s in offsets.items()})
    answer = oidc.client.get(SHIPMENTS, headers=bearer(token))
    if accepted:
        assert answer.status_code == 200, answer.text
    else:
        assert refusal(oidc, token) in {
            "the token has expired",
            "the token is not valid yet",
            "the token is issued in the future",
        }


def test_a_remembered_token_is_refused_once_it_expires(oidc: OidcApp) -> None:
    token = oidc.token("ada", ["reader"], exp=int(oidc.clock()) + 100)
    assert oidc.client.get(SHIPMENTS, headers=bearer(token)).status_code == 200
    oidc.clock.advance(159)
    assert oidc.client.get(SHIPMENTS, headers=bearer(token)).status_code == 200
    oidc.clock.advance(2)
    assert refusal(oidc, token) == "the token has expired"


@pytest.mark.parametrize(
    "token",
    [
        "a.b.c",
        "eyJhbGciOiJSUzI1NiJ9.not-base64!.sig",
        f"{segment({'alg': 'RS256', 'kid': 'rsa-1'})}.bm90IGpzb24.c2ln",
        "eyJub3QiOiJhIHN0cmluZyJ9..",
    ],
)
def test_malformed_tokens_are_refused(oidc: OidcApp, token: str) -> None:
    assert refusal(oidc, token)


def test_a_tampered_payload_breaks_the_signature(oidc: OidcApp) -> None:
    header, _, signature = oidc.token("rita", ["reader"]).split(".")
    forged = f"{header}.{segment(claims(oidc))}.{signature}"
    assert refusal(oidc, forged) == "the token's signature does not verify"


def test_an_id_token_type_is_not_an_access_token(oidc: OidcApp) -> None:
    token = oidc.provider.state.sign(claims(oidc), "rsa-1", headers={"typ": "id_token+jwt"})
    assert refusal(oidc, token) == "the token is not an access token (typ)"


def test_a_request_pays_one_signature_check_at_most_and_a_repeated_token_none(
    oidc: OidcApp, new_shipment: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = oidc.token("wanda", ["writer"])
    created = oidc.client.post(SHIPMENTS, json=new_shipment, headers=bearer(writer)).json()
    one = f"{SHIPMENTS}/{created['id']}"  # answered by the edge door, else by the route
    checks: list[str] = []
    decode = jwt.decode

    def counted(token: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
        checks.append(token)
        return decode(token, *args, **kwargs)

    monkeypatch.setattr(jwt, "decode", counted)
    reader = oidc.token("rita", ["reader"])
    wrong_audience = oidc.token("rita", ["reader"], aud="another-api")
    for _ in range(3):
        assert oidc.client.get(one, headers=bearer(reader)).status_code == 200
        assert oidc.client.get(one, headers=bearer(wrong_audience)).status_code == 401
    assert checks == [reader, wrong_audience]


def test_a_token_with_critical_header_extensions_is_refused(oidc: OidcApp) -> None:
    """RFC 7515 §4.1.11: a ``crit`` extension the service does not implement must fail."""
    state = oidc.provider.state
    for extension in ({"crit": ["urn:x"], "urn:x": 1}, {"crit": ["b64"], "b64": True}):
        token = state.sign(claims(oidc), "rsa-1", headers=extension)
        assert refusal(oidc, token) == "the token is not a well-formed JWT"
