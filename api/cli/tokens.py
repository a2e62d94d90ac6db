"""``shipments tokens add|list|revoke``: manage the API's bearer tokens.

``add`` prints the new token once, alone on the last line of stdout (so a
script can take it with ``tail -n 1``); only its hash is kept, in the tokens
file (``SHIPMENTS_TOKENS_FILE``) or else in the database.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC
from typing import Any

from api.plumbing.principals import Role
from infrastructure.errors import StoreUnavailable
from infrastructure.settings import Settings
from infrastructure.token_store import (
    FileTokenStore,
    InvalidTokenName,
    TokenNameTaken,
    TokenStore,
    open_token_store,
)

ROLES = [role.value for role in Role]


def register(commands: Any) -> None:
    """Add the ``tokens`` sub-command and its own sub-commands."""
    tokens = commands.add_parser("tokens", help="add, list or revoke API bearer tokens")
    actions = tokens.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="make a token and print it (once)")
    add.add_argument("name", metavar="NAME", help="the subject: recorded as the events' actor")
    add.add_argument("--role", required=True, choices=ROLES)
    add.set_defaults(run=run_add)
    listing = actions.add_parser("list", help="list tokens (names and roles, never the tokens)")
    listing.set_defaults(run=run_list)
    revoke = actions.add_parser("revoke", help="revoke the token named NAME")
    revoke.add_argument("name", metavar="NAME")
    revoke.set_defaults(run=run_revoke)


@contextmanager
def configured_token_store(settings: Settings) -> Iterator[TokenStore]:
    """The token store the service reads: the tokens file, or the events' database."""
    if settings.tokens_file is not None:
        yield FileTokenStore(settings.tokens_file)
        return
    from api.wiring import build_services

    services = build_services(settings)
    try:
        yield open_token_store(
            None,
            services.store.factory.datastore,  # type: ignore[attr-defined]
            create_table=settings.create_tables,
        )
    finally:
        services.close()


def run_add(arguments: argparse.Namespace) -> int:
    """Store the new token's hash and print the token; 1 if the name is taken or invalid."""
    try:
        with configured_token_store(Settings()) as tokens:
            token = tokens.add(arguments.name, arguments.role)
    except TokenNameTaken:
        return _fail(f"a token named {arguments.name!r} exists; revoke it first")
    except (InvalidTokenName, StoreUnavailable) as error:
        return _fail(str(error))
    print(f"Token for {arguments.name!r} (role {arguments.role}); it is shown only this once:")
    print(token)
    return 0


def run_list(arguments: argparse.Namespace) -> int:
    """Print name, role and creation time of each token."""
    try:
        with configured_token_store(Settings()) as tokens:
            records = tokens.records()
    except StoreUnavailable as error:
        return _fail(str(error))
    if not records:
        print("no tokens: the service runs open (loopback only)")
        return 0
    width = max(len(record.name) for record in records)
    print(f"{'NAME':<{width}}  {'ROLE':<6}  CREATED")
    for record in records:
        created = record.created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        print(f"{record.name:<{width}}  {record.role:<6}  {created}")
    return 0


def run_revoke(arguments: argparse.Namespace) -> int:
    """Forget the token; 1 when there is no token of that name."""
    try:
        with configured_token_store(Settings()) as tokens:
            revoked = tokens.revoke(arguments.name)
    except StoreUnavailable as error:
        return _fail(str(error))
    if not revoked:
        return _fail(f"no token named {arguments.name!r}")
    print(f"revoked the token {arguments.name!r}")
    return 0


def _fail(message: str) -> int:
    print(f"shipments tokens: {message}", file=sys.stderr)
    return 1
