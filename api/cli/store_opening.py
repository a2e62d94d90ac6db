"""Which store a command opens, said on every run; read commands never create one.

``SHIPMENTS_DATABASE_URL`` defaults to ``sqlite:///./shipments.db``: a file in
the folder the command runs in. Run from another folder, a command that read
the store would silently create an empty one there and answer "no such
shipment". So every command says which store it opened (on stderr, so stdout
stays for its output), and a command that only reads refuses a SQLite file that
does not exist, saying where it looked and how to point it elsewhere.
"""

from __future__ import annotations

import os
import sys

from infrastructure.database_url import (
    DatabaseTarget,
    UnsupportedDatabaseUrl,
    parse_database_url,
)
from infrastructure.settings import Settings

_URL_VARIABLE = "SHIPMENTS_DATABASE_URL"
STORE_HELP = (
    "The store is the environment variable SHIPMENTS_DATABASE_URL: sqlite:///relative.db "
    "(relative to the folder you run in), sqlite:////absolute/path.db, or "
    "postgresql://user[:pw]@host:port/db[?schema=name]. Default: sqlite:///./shipments.db, "
    "a file in the folder you run in. Every other setting is a SHIPMENTS_* variable too "
    "(README.md, Configuration)."
)
"""The ``--help`` epilog of every command that opens the store."""


class StoreNotOpened(Exception):
    """The configured store cannot be used by this command; the message says why."""


def open_settings(*, create: bool) -> Settings:
    """The settings, after saying which store they name; ``create=False``: it must exist."""
    settings = Settings()
    target = store_target(settings)
    if not create and target.sqlite_file is not None and not target.sqlite_file.exists():
        raise StoreNotOpened(
            f"no store at {target.display}: the file does not exist, and this command "
            "only reads. SHIPMENTS_DATABASE_URL "
            + ("is " + repr(settings.database_url) if _URL_VARIABLE in os.environ else "is not set")
            + "; run in the folder that holds the store, or set SHIPMENTS_DATABASE_URL "
            "to it (e.g. sqlite:////absolute/path/shipments.db)"
        )
    print(f"shipments: store {target.display}", file=sys.stderr)
    return settings


def store_target(settings: Settings) -> DatabaseTarget:
    """The store ``settings`` name; ``StoreNotOpened`` for a URL this service cannot use."""
    try:
        return parse_database_url(settings.database_url)
    except UnsupportedDatabaseUrl as error:
        raise StoreNotOpened(str(error)) from None
