"""Bearer-token authentication and role checks (API.md "Who may do what").

A presented token is hashed and compared, in constant time, with the hash of
every configured token, so neither the comparison nor an early exit tells an
attacker how close a guess came. With no token configured (and auth not
required) the service runs open, as the anonymous admin: local development
only, which ``shipments serve`` enforces by refusing non-loopback hosts.
"""

from __future__ import annotations

import hmac
import logging
import threading
import time

from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.http.problems import HttpProblem
from api.plumbing.principals import ANONYMOUS, Principal, Role
from api.wiring import Services
from infrastructure.settings import Settings
from infrastructure.token_store import TokenRecord, TokenStore, hash_token, open_token_store

REALM = 'Bearer realm="shipments"'
_log = logging.getLogger("shipments.auth")

# Documents the scheme in /openapi.json; errors are ours (problem+json), not FastAPI's.
bearer_scheme = HTTPBearer(
    auto_error=False,
    description="`Authorization: Bearer <token>`; make one with `shipments tokens add`.",
)


class Authenticator:
    """Turns an ``Authorization`` header into a ``Principal``, or refuses with 401/403."""

    def __init__(self, tokens: TokenStore, *, required: bool, cache_seconds: float) -> None:
        self._tokens = tokens
        self._cache_seconds = cache_seconds
        self._lock = threading.Lock()
        self._records = tokens.records()
        self._loaded_at = time.monotonic()
        self._refreshing = False
        # Decided once, at start: tokens added to an open server take effect on restart,
        # and revoking every token of a protected server never opens it.
        self.open = not required and not self._records

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
        record = self._find(hash_token(credentials.credentials))
        if record is None:
            raise HttpProblem(
                401,
                "the bearer token is unknown or revoked",
                headers={"WWW-Authenticate": f'{REALM}, error="invalid_token"'},
            )
        return Principal(subject=record.name, role=Role(record.role))

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


def build_authenticator(settings: Settings, services: Services) -> Authenticator:
    """The authenticator over the configured token store (file, or the events' database)."""
    tokens = open_token_store(
        settings.tokens_file,
        services.store.factory.datastore,  # type: ignore[attr-defined]
        create_table=settings.create_tables,
    )
    return Authenticator(
        tokens, required=settings.require_auth, cache_seconds=settings.token_cache_seconds
    )
