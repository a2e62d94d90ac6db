"""``shipments auth check TOKEN``: what the service would make of a bearer token.

For an operator looking into a 401 or a 403: the subject recorded as the actor,
the role, the expiry, or the reason the token is refused, decided by the very
code the server runs (the same verifier, the same provider keys, the same token
store). ``-`` reads the token from standard input, which keeps it out of the
shell's history and the process list. Exit status 0 when the token would be
accepted with a role, 1 otherwise, 2 when the store cannot be reached.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from typing import Any

from fastapi.security import HTTPAuthorizationCredentials

from api.cli.tokens import configured_token_store
from api.http.problems import HttpProblem
from api.plumbing.auth import Authenticator
from api.plumbing.jwt_tokens import (
    JwtVerifier,
    TokenRefused,
    build_jwt_verifier,
    looks_like_jwt,
)
from infrastructure.errors import StoreUnavailable
from infrastructure.settings import Settings


def register(commands: Any) -> None:
    """Add the ``auth`` sub-command and its ``check``."""
    auth = commands.add_parser("auth", help="inspect how the service authenticates a caller")
    actions = auth.add_subparsers(dest="action", required=True)
    check = actions.add_parser("check", help="print what the service makes of a bearer token")
    check.add_argument("token", metavar="TOKEN", help="the bearer token; - reads it from stdin")
    check.set_defaults(run=run_check)


def run_check(arguments: argparse.Namespace) -> int:
    """Print the token's subject, role and expiry, or why it is refused."""
    token = sys.stdin.readline().strip() if arguments.token == "-" else arguments.token.strip()
    token = token.removeprefix("Bearer ").strip()
    settings = Settings()
    verifier = build_jwt_verifier(settings)
    if verifier is not None and looks_like_jwt(token):
        return _check_access_token(verifier, token)
    try:
        return _check_static_token(settings, token)
    except StoreUnavailable as error:
        print(f"shipments auth: {error}", file=sys.stderr)
        return 2


def _check_access_token(verifier: JwtVerifier, token: str) -> int:
    verifier.key_set.load()
    verdict = verifier.verify_blocking(token)
    print(f"kind:    JWT access token of {verifier.provider.issuer}")
    if isinstance(verdict, TokenRefused):
        print(f"refused: 401 invalid_token: {verdict.reason}")
        return 1
    left = verdict.expires_at - time.time()
    expires = datetime.fromtimestamp(verdict.expires_at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    print(f"subject: {verdict.subject} (recorded as the actor of its events)")
    print(f"expires: {expires} ({_span(left)})")
    print(f"key:     {verdict.key.kid or '(the only key)'}")
    if verdict.role is None:
        print("role:    none: 403 on every request (no reader, writer or admin in its roles claim)")
        return 1
    print(f"role:    {verdict.role.value}")
    return 0


def _check_static_token(settings: Settings, token: str) -> int:
    with configured_token_store(settings) as tokens:
        authenticator = Authenticator(tokens, required=True, cache_seconds=0)
        credentials = HTTPAuthorizationCredentials(scheme="Bearer", credentials=token)
        try:
            principal = authenticator.authenticate(credentials)
        except HttpProblem as problem:
            print("kind:    static token (shipments tokens)")
            print(f"refused: {problem.status} {problem.detail}")
            if not looks_like_jwt(token) or settings.oidc_issuer:
                return 1
            print("note:    it looks like a JWT, but no SHIPMENTS_OIDC_ISSUER is configured")
            return 1
    print("kind:    static token (shipments tokens)")
    print(f"subject: {principal.subject} (recorded as the actor of its events)")
    print("expires: never (until revoked)")
    print(f"role:    {principal.role.value}")
    return 0


def _span(seconds: float) -> str:
    """``in 4m 58s`` or ``4m 58s ago``."""
    whole = abs(int(seconds))
    text = f"{whole // 3600}h {whole % 3600 // 60}m {whole % 60}s".removeprefix("0h ")
    return f"in {text}" if seconds >= 0 else f"{text} ago"
