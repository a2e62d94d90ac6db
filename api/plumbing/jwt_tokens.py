"""JWT access tokens (RFC 9068) from the configured OpenID Connect provider: token → verdict.

The one entry point is ``JwtVerifier.verify(token)``: a ``VerifiedToken`` (who, which
role, until when) or a ``TokenRefused`` with the reason the client is told. It
never blocks: when a token names a key the set does not hold, the refusal says
so (``keys_may_help``), and the caller may run ``fetch_keys_for`` in a worker
thread and ask again (``api.plumbing.auth`` does, off the event loop).

Parsing and signatures are PyJWT's; this module chooses what to accept: only
the asymmetric algorithms of ``key_sets.ACCEPTED_ALGORITHMS`` (never ``none``,
never HMAC), only a key from the provider's set whose type fits the algorithm,
``iss`` and ``aud`` as configured, and the times of ``token_claims`` against an
injectable clock. A verdict is remembered until the token expires (bounded,
least recently used first out), so a client that sends one token many times
pays for one signature check (and one refused after its signature was checked
is remembered too, bounded more tightly).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import jwt
from jwt.exceptions import (
    InvalidAudienceError,
    InvalidIssuerError,
    InvalidSignatureError,
    MissingRequiredClaimError,
    PyJWTError,
)

from api.plumbing import token_claims
from api.plumbing.key_sets import ACCEPTED_ALGORITHMS, Clock, KeySet, SigningKey
from api.plumbing.oidc_provider import OidcProvider
from api.plumbing.principals import Role
from infrastructure.bounded_cache import BoundedCache
from infrastructure.settings import Settings

# RFC 9068 §2.1 names ``at+jwt``; most providers still send ``JWT`` or nothing.
_ACCESS_TOKEN_TYPES = {"jwt", "at+jwt", "application/at+jwt"}
# Refusals kept (after a signature check) so that a client repeating a refused token, or
# the edge door and then the route looking at one request's token, pay one check at most.
_REFUSALS_KEPT = 1024
_DECODE_OPTIONS = {
    # The times are checked by ``token_claims`` against the verifier's clock.
    "verify_exp": False,
    "verify_nbf": False,
    "verify_iat": False,
    "require": ["exp", "iss", "aud"],
}


@dataclass(frozen=True)
class VerifiedToken:
    """An access token whose signature, issuer, audience and times were all accepted."""

    subject: str
    role: Role | None  # None: a valid token that grants nothing here (403, not 401)
    expires_at: float
    key: SigningKey  # the verdict holds only while the provider still publishes this key


@dataclass(frozen=True)
class TokenRefused:
    """Why a token is not accepted (told to the client as ``error_description``)."""

    reason: str
    keys_may_help: bool = False  # the key is unknown and fetching the set again is due
    kid: str | None = None
    # Set when the refusal is final while this key stands (signature, iss, aud, expiry…),
    # so that the token is refused again without checking its signature again.
    final_for: SigningKey | None = None


Verdict = VerifiedToken | TokenRefused


def looks_like_jwt(token: str) -> bool:
    """Whether a bearer token has the three dot-separated parts of a JWS (static tokens none)."""
    return token.count(".") == 2


class JwtVerifier:
    """Verifies access tokens of one provider for one audience."""

    def __init__(
        self,
        provider: OidcProvider,
        key_set: KeySet,
        *,
        audience: str,
        roles_claim: str,
        actor_claim: str,
        cache_size: int,
        clock: Clock,
    ) -> None:
        self.provider = provider
        self.key_set = key_set
        self._audience = audience
        self._roles_claim = roles_claim
        self._actor_claim = actor_claim
        self._clock = clock
        self._verdicts: BoundedCache[str, VerifiedToken] = BoundedCache(cache_size)
        self._refusals: BoundedCache[str, TokenRefused] = BoundedCache(_REFUSALS_KEPT)

    def verify(self, token: str) -> Verdict:
        """What the token is worth now; never blocks (see ``fetch_keys_for``)."""
        known = self._verdicts.get(token)
        if known is not None and self.key_set.holds(known.key):
            if self._clock() > known.expires_at + token_claims.LEEWAY_SECONDS:
                return TokenRefused("the token has expired", final_for=known.key)
            return known
        refused = self._refusals.get(token)
        if refused is not None and refused.final_for and self.key_set.holds(refused.final_for):
            return refused
        verdict = self._check(token)
        if isinstance(verdict, VerifiedToken):
            self._verdicts.put(token, verdict)
        elif verdict.final_for is not None:
            self._refusals.put(token, verdict)
        return verdict

    def fetch_keys_for(self, refusal: TokenRefused) -> None:
        """Fetch the key set again for a refusal that names an unknown key (blocking)."""
        if refusal.keys_may_help:
            self.key_set.fetch_for_unknown(refusal.kid)

    def verify_blocking(self, token: str) -> Verdict:
        """``verify``, fetching the key set first when that may change the answer (blocking)."""
        verdict = self.verify(token)
        if isinstance(verdict, TokenRefused) and verdict.keys_may_help:
            self.fetch_keys_for(verdict)
            verdict = self.verify(token)
        return verdict

    def _check(self, token: str) -> Verdict:
        try:
            header = jwt.get_unverified_header(token)
        except PyJWTError:
            return TokenRefused("the token is not a well-formed JWT")
        algorithm, kid, kind = header.get("alg"), header.get("kid"), header.get("typ")
        if not isinstance(algorithm, str) or algorithm not in ACCEPTED_ALGORITHMS:
            return TokenRefused(
                "the token's signature algorithm is not accepted "
                f"(only {', '.join(ACCEPTED_ALGORITHMS)})"
            )
        if kind is not None and str(kind).lower() not in _ACCESS_TOKEN_TYPES:
            return TokenRefused("the token is not an access token (typ)")
        if kid is not None and not isinstance(kid, str):
            return TokenRefused("the token's kid is not a string")
        key = self.key_set.key(kid)
        if key is None:
            return TokenRefused(
                "the token is not signed with a key of the identity provider",
                keys_may_help=self.key_set.refetch_due(),
                kid=kid,
            )
        if not key.verifies(algorithm):
            return TokenRefused("the token's algorithm does not fit its key")
        return self._claims_verdict(token, key, algorithm)

    def _claims_verdict(self, token: str, key: SigningKey, algorithm: str) -> Verdict:
        try:
            claims = jwt.decode(
                token,
                key.key.key,
                algorithms=[algorithm],
                audience=self._audience,
                issuer=self.provider.issuer,
                options=_DECODE_OPTIONS,  # type: ignore[arg-type]
            )
        except InvalidSignatureError:
            return TokenRefused("the token's signature does not verify", final_for=key)
        except InvalidIssuerError:
            return TokenRefused("the token is from another issuer", final_for=key)
        except InvalidAudienceError:
            return TokenRefused("the token is meant for another audience", final_for=key)
        except MissingRequiredClaimError as error:
            return TokenRefused(f"the token has no {error.claim} claim", final_for=key)
        except PyJWTError:
            return TokenRefused("the token is not a well-formed JWT", final_for=key)
        too_early_or_late = token_claims.time_refusal(claims, self._clock())
        if too_early_or_late is not None:
            # Expired stays expired; "not valid yet" may pass later, so it is not kept.
            expired = too_early_or_late == token_claims.EXPIRED
            return TokenRefused(too_early_or_late, final_for=key if expired else None)
        subject = token_claims.actor(claims, self._actor_claim)
        if subject is None:
            reason = f"the token has no usable {self._actor_claim} claim"
            return TokenRefused(reason, final_for=key)
        return VerifiedToken(
            subject=subject,
            role=token_claims.strongest_role(claims, self._roles_claim),
            expires_at=token_claims.expiry(claims) or 0.0,
            key=key,
        )


def build_jwt_verifier(settings: Settings, clock: Clock = time.time) -> JwtVerifier | None:
    """The verifier the settings configure (no keys fetched yet), or None without an issuer."""
    if not settings.oidc_issuer or not settings.oidc_audience:
        return None
    provider = OidcProvider(settings.oidc_issuer, settings.oidc_jwks_url)
    key_set = KeySet(provider, clock, max_age_seconds=settings.oidc_keys_max_age_seconds)
    return JwtVerifier(
        provider,
        key_set,
        audience=settings.oidc_audience,
        roles_claim=settings.oidc_roles_claim,
        actor_claim=settings.oidc_actor_claim,
        cache_size=settings.oidc_token_cache_size,
        clock=clock,
    )
