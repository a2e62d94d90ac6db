"""Bearer-token authentication and role checks (API.md "Who may do what").

A presented token is either a JWT access token of the configured identity
provider (verified by ``api.plumbing.jwt_tokens``) or one of ours: hashed and
compared, in constant time, with the hash of every configured token, so
neither the comparison nor an early exit tells an attacker how close a guess
came. With no token and no identity provider configured (and auth not
required) the service runs open, as the anonymous admin: local development
only, which ``shipments serve`` enforces by refusing non-loopback hosts.
"""

from __future__ import annotations

import hmac
import logging
import threading
import time

from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from api.http.problems import HttpProblem
from api.plumbing.jwt_tokens import (
    JwtVerifier,
    TokenRefused,
    Verdict,
    build_jwt_verifier,
    looks_like_jwt,
)
from api.plumbing.principals import ANONYMOUS, Principal, Role
from api.wiring import Services
from infrastructure.settings import Settings
from infrastructure.token_store import TokenRecord, TokenStore, hash_token, open_token_store

REALM = 'Bearer realm="shipments"'
_log = logging.getLogger("shipments.auth")

# Documents the scheme in /openapi.json; errors are ours (problem+json), not FastAPI's.
bearer_scheme = HTTPBearer(
    auto_error=False,
    description="`Authorization: Bearer <token>`: a token made with `shipments tokens add`, "
    "or a JWT access token (RFC 9068) of the identity provider the service is configured "
    'to trust. A refused token is 401 with `WWW-Authenticate: Bearer error="invalid_token", '
    'error_description="…"`; a role that does not allow the operation is 403.',
)


class Authenticator:
    """Turns an ``Authorization`` header into a ``Principal``, or refuses with 401/403."""

    def __init__(
        self,
        tokens: TokenStore,
        *,
        required: bool,
        cache_seconds: float,
        access_tokens: JwtVerifier | None = None,
    ) -> None:
        self._tokens = tokens
        self.access_tokens = access_tokens
        self._cache_seconds = cache_seconds
        self._lock = threading.Lock()
        self._records = tokens.records()
        self._loaded_at = time.monotonic()
        self._refreshing = False
        # Decided once, at start: tokens added to an open server take effect on restart,
        # and revoking every token of a protected server never opens it.
        self.open = not required and not self._records and access_tokens is None

    @property
    def reads_store_per_request(self) -> bool:
        """Whether ``authenticate`` may block on the store (no token cache configured)."""
        return not self.open and self._cache_seconds == 0

    def authenticate(self, credentials: HTTPAuthorizationCredentials | None) -> Principal:
        """The caller named by a bearer token (anonymous admin when running open)."""
        if self.open:
            return ANONYMOUS
        if credentials is None or credentials.scheme.lower() != "bearer":
            raise HttpProblem(
                401,
                "send a token as `Authorization: Bearer <token>`",
                headers={"WWW-Authenticate": REALM},
            )
        access_token = self._access_token(credentials)
        if access_token is not None and self.access_tokens is not None:
            return self._principal_of(self.access_tokens.verify(access_token))
        record = self._find(hash_token(credentials.credentials))
        if record is None:
            raise HttpProblem(
                401,
                "the bearer token is unknown or revoked",
                headers={"WWW-Authenticate": f'{REALM}, error="invalid_token"'},
            )
        return Principal(subject=record.name, role=Role(record.role))

    async def authenticate_async(
        self, credentials: HTTPAuthorizationCredentials | None
    ) -> Principal:
        """``authenticate``, running in a worker thread whatever would block the event loop.

        That is reading the token list (when no copy is kept) and fetching the
        provider's key set again for a token signed with a key it does not hold yet.
        """
        verifier, access_token = self.access_tokens, self._access_token(credentials)
        if verifier is not None and access_token is not None:
            verdict = verifier.verify(access_token)
            if isinstance(verdict, TokenRefused) and verdict.keys_may_help:
                await run_in_threadpool(verifier.fetch_keys_for, verdict)
                verdict = verifier.verify(access_token)
            return self._principal_of(verdict)
        if self.reads_store_per_request:
            return await run_in_threadpool(self.authenticate, credentials)
        return self.authenticate(credentials)

    def _access_token(self, credentials: HTTPAuthorizationCredentials | None) -> str | None:
        """The bearer token, if it is for the identity provider's verifier (else None)."""
        if self.access_tokens is None or credentials is None:
            return None
        token = credentials.credentials
        return token if credentials.scheme.lower() == "bearer" and looks_like_jwt(token) else None

    def _principal_of(self, verdict: Verdict) -> Principal:
        """The caller an access token names; 401 (RFC 6750) if refused, 403 if it has no role."""
        if isinstance(verdict, TokenRefused):
            raise HttpProblem(
                401,
                f"the bearer token was refused: {verdict.reason}",
                headers={"WWW-Authenticate": refused_token_challenge(verdict.reason)},
            )
        if verdict.role is None:
            raise HttpProblem(
                403,
                "the access token grants no role here: its roles claim holds none of "
                "reader, writer or admin",
            )
        return Principal(subject=verdict.subject, role=verdict.role)

    @staticmethod
    def authorize(principal: Principal, needed: Role) -> Principal:
        """The principal, if its role allows what ``needed`` stands for; else 403."""
        if not principal.role.allows(needed):
            raise HttpProblem(
                403,
                f"a {principal.role.value} token may not do this; it needs the "
                f"{needed.value} role or above",
            )
        return principal

    def _find(self, presented_hash: str) -> TokenRecord | None:
        found = None
        for record in self._current_records():
            # No early exit: every stored hash is compared, matching or not.
            if hmac.compare_digest(record.token_hash, presented_hash):
                found = record
        return found

    def _current_records(self) -> list[TokenRecord]:
        """The token list, at most ``cache_seconds`` old (plus one re-read).

        A stale list is re-read in the background while requests go on with it,
        so a slow or unreachable store never makes authentication wait; with
        ``cache_seconds`` 0 every request reads the list itself (and an
        unreachable store is its 503).
        """
        if self._cache_seconds == 0:
            return self._tokens.records()
        with self._lock:
            stale = time.monotonic() - self._loaded_at >= self._cache_seconds
            if stale and not self._refreshing:
                self._refreshing = True
                threading.Thread(target=self._refresh, name="token-refresh", daemon=True).start()
            return self._records

    def _refresh(self) -> None:
        records: list[TokenRecord] | None = None
        try:
            records = self._tokens.records()
        except Exception:  # noqa: BLE001 - keep the old list; the next period tries again
            _log.warning("could not re-read the API tokens; keeping the last list", exc_info=True)
        with self._lock:
            if records is not None:
                self._records = records
            self._loaded_at = time.monotonic()
            self._refreshing = False


def refused_token_challenge(reason: str) -> str:
    """The RFC 6750 §3 challenge for a refused token (the description in its allowed characters)."""
    description = "".join(char for char in reason if " " <= char <= "~" and char not in {'"', "\\"})
    return f'{REALM}, error="invalid_token", error_description="{description}"'


def build_authenticator(settings: Settings, services: Services) -> Authenticator:
    """The authenticator over the configured token store and identity provider, if any.

    The provider's keys are fetched in a background thread, so start-up never
    waits for (or fails with) the provider.
    """
    tokens = open_token_store(
        settings.tokens_file,
        services.store.factory.datastore,  # type: ignore[attr-defined]
        create_table=settings.create_tables,
    )
    access_tokens = build_jwt_verifier(settings)
    if access_tokens is not None:
        access_tokens.key_set.start_loading()
    return Authenticator(
        tokens,
        required=settings.require_auth,
        cache_seconds=settings.token_cache_seconds,
        access_tokens=access_tokens,
    )
