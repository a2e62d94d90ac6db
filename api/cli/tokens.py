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
from pathlib import Path
from typing import Any

from api.cli.store_opening import StoreNotOpened, open_settings
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
    tokens = commands.add_parser(
        "tokens",
        help="add, list or revoke API bearer tokens",
        description="Bearer tokens for the API, each with a name (recorded as the actor of "
        "the events it causes) and a role. Only their hashes are kept: in "
        "SHIPMENTS_TOKENS_FILE when it is set, else in the store. With no token the server "
        "runs open, on loopback only.",
    )
    actions = tokens.add_subparsers(dest="action", required=True)
    add = actions.add_parser(
        "add",
        help="make a token and print it (once)",
        description="Makes a token and prints it once, alone on the last line of stdout "
        "(take it with tail -n 1); only its hash is kept.",
    )
    add.add_argument("name", metavar="NAME", help="the subject: recorded as the events' actor")
    add.add_argument(
        "--role",
        required=True,
        choices=ROLES,
        help="reader: GET; writer: GET and writes; admin: everything, /metrics included",
    )
    add.set_defaults(run=run_add)
    listing = actions.add_parser(
        "list",
        help="list tokens (names and roles, never the tokens)",
        description="Prints each token's name, role and creation time (UTC); never a token.",
    )
    listing.set_defaults(run=run_list)
    revoke = actions.add_parser(
        "revoke",
        help="revoke the token named NAME",
        description="Forgets the token named NAME: requests carrying it are refused (401) "
        "from then on. Exit 1 when there is no token of that name.",
    )
    revoke.add_argument("name", metavar="NAME", help="the name given to tokens add")
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
        with configured_token_store(_token_settings(create=True)) as tokens:
            token = tokens.add(arguments.name, arguments.role)
    except StoreNotOpened as error:
        return _fail(str(error))
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
        with configured_token_store(_token_settings(create=False)) as tokens:
            records = tokens.records()
    except (StoreNotOpened, StoreUnavailable) as error:
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
        with configured_token_store(_token_settings(create=False)) as tokens:
            revoked = tokens.revoke(arguments.name)
    except (StoreNotOpened, StoreUnavailable) as error:
        return _fail(str(error))
    if not revoked:
        return _fail(f"no token named {arguments.name!r}")
    print(f"revoked the token {arguments.name!r}")
    return 0


def _token_settings(*, create: bool) -> Settings:
    """The settings, after saying where the tokens are kept (a file, or the store)."""
    settings = Settings()
    if settings.tokens_file is None:
        return open_settings(create=create)
    print(f"shipments: tokens file {Path(settings.tokens_file).absolute()}", file=sys.stderr)
    return settings


def _fail(message: str) -> int:
    print(f"shipments tokens: {message}", file=sys.stderr)
    return 1
