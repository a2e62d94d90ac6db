"""``shipments serve``: run the HTTP API with uvicorn."""

from __future__ import annotations

import argparse
import ipaddress
import os
import sys
from typing import Any

from infrastructure.database_url import UnsupportedDatabaseUrl, parse_database_url
from infrastructure.settings import Settings
from infrastructure.token_store import open_token_store

REFUSE_OPEN = (
    "shipments: refusing to serve on {host} without authentication: no API token is "
    "configured.\n"
    "  Create one first:  shipments tokens add NAME --role admin\n"
    "  or, for local development only, listen on loopback:  --host 127.0.0.1"
)
WARN_OPEN = """
shipments: ******************************************************************
shipments: WARNING: AUTHENTICATION IS OFF: no API token is configured.
shipments: Anyone who can reach {url} may read and change every shipment.
shipments: This is allowed on loopback only, for local development. To turn
shipments: authentication on:  shipments tokens add NAME --role admin
shipments: ******************************************************************
"""


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name we will not resolve: treat as reachable from elsewhere


def register(commands: Any) -> None:
    """Add the ``serve`` sub-command."""
    serve = commands.add_parser("serve", help="run the HTTP API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1, help="worker processes")
    serve.set_defaults(run=run)


def run(arguments: argparse.Namespace) -> int:
    """Create the tables once, then hand over to uvicorn's workers."""
    import uvicorn

    from api.wiring import build_services

    settings = Settings()
    try:
        target = parse_database_url(settings.database_url)
    except UnsupportedDatabaseUrl as error:
        print(f"shipments: {error}", file=sys.stderr)
        return 2
    # Create the tables once, here, so that several workers starting together
    # never race on CREATE TABLE; the workers then skip it.
    services = build_services(settings)
    try:
        tokens = open_token_store(
            settings.tokens_file,
            services.store.factory.datastore,  # type: ignore[attr-defined]
            create_table=settings.create_tables,
        ).records()
    finally:
        services.close()
    # Tokens of an identity provider count as configured tokens: the server is not open.
    protected = bool(tokens) or settings.oidc_issuer is not None
    if not protected and not is_loopback(arguments.host):
        print(REFUSE_OPEN.format(host=arguments.host), file=sys.stderr)
        return 2
    os.environ["SHIPMENTS_CREATE_TABLES"] = "false"
    if protected:
        # Workers require tokens from now on, even if the last one is revoked.
        os.environ["SHIPMENTS_REQUIRE_AUTH"] = "true"
    elif not settings.require_auth:
        print(WARN_OPEN.format(url=f"http://{arguments.host}:{arguments.port}"), file=sys.stderr)
    print(
        f"shipments: serving on http://{arguments.host}:{arguments.port} "
        f"with {arguments.workers} worker(s), store {target.display}",
        file=sys.stderr,
    )
    uvicorn.run(
        "api.http.app:create_app_from_env",
        factory=True,
        host=arguments.host,
        port=arguments.port,
        workers=arguments.workers,
        log_level=settings.log_level,
        access_log=False,  # ours is api.plumbing.access_log: JSON, with request id and actor
        # Nothing here reads the client's address or scheme (Location is a path), so
        # rewriting them from X-Forwarded-* on every request would be work for no one.
        proxy_headers=False,
    )
    return 0
