"""``shipments serve``: run the HTTP API with uvicorn."""

from __future__ import annotations

import argparse
import ipaddress
import os
import sys
from typing import Any

from api.cli.delivery_child import DeliveryChild
from infrastructure.database_url import UnsupportedDatabaseUrl, parse_database_url
from infrastructure.master_key import MasterKey, MasterKeyProblem
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
REFUSE_NO_MASTER_KEY = (
    "shipments: refusing to serve on {host} without a master key: personal data is stored "
    "sealed under keys it wraps.\n"
    "  Make one (keep it safe, apart from the database):  shipments master-key\n"
    "  then set SHIPMENTS_MASTER_KEY to it (or SHIPMENTS_MASTER_KEY_FILE to a file holding it);\n"
    "  or, for local development only, listen on loopback:  --host 127.0.0.1"
)
NOTE_GENERATED_KEY = (
    "shipments: generated a master key for personal data into {source} (local development "
    "only). Keep it with the store: without it no address or remark can be read again."
)


def master_key_refusal(settings: Settings, host: str) -> str | None:
    """Why the server must not start for lack of a configured master key (None: it may)."""
    configured = settings.master_key is not None or settings.master_key_file is not None
    if configured or is_loopback(host):
        return None
    return REFUSE_NO_MASTER_KEY.format(host=host)


def master_key_note(key: MasterKey) -> str | None:
    """What to say at start about a master key generated just now."""
    return NOTE_GENERATED_KEY.format(source=key.source) if key.generated else None


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
    serve = commands.add_parser(
        "serve",
        help="run the HTTP API",
        description="Serves the API (OpenAPI at /docs), creating the store's tables on first "
        "start. Without any token (shipments tokens add) it runs open, and then only on a "
        "loopback address.",
    )
    serve.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default: %(default)s; any other than loopback needs a token)",
    )
    serve.add_argument(
        "--port", type=int, default=8000, help="port to listen on (default: %(default)s)"
    )
    serve.add_argument(
        "--workers", type=int, default=1, help="worker processes (default: %(default)s)"
    )
    serve.set_defaults(run=run)


def run(arguments: argparse.Namespace) -> int:
    """Create the tables once, start the deliverer process, then hand over to uvicorn."""
    from api.wiring import build_services

    settings = Settings()
    try:
        target = parse_database_url(settings.database_url)
    except UnsupportedDatabaseUrl as error:
        print(f"shipments: {error}", file=sys.stderr)
        return 2
    refusal = master_key_refusal(settings, arguments.host)
    if refusal is not None:
        print(refusal, file=sys.stderr)
        return 2
    # Create the tables once, here, so that several workers starting together
    # never race on CREATE TABLE; the workers then skip it.
    try:
        services = build_services(settings)
    except MasterKeyProblem as problem:
        print(f"shipments: refusing to start: {problem}", file=sys.stderr)
        return 2
    note = master_key_note(services.store.master_key)
    if note is not None:
        print(note, file=sys.stderr)
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
    child = None
    if settings.deliverer and settings.delivery_process:
        os.environ["SHIPMENTS_DELIVERER"] = "false"  # the workers leave delivery to the child
        child = DeliveryChild().start()
    print(
        f"shipments: serving on http://{arguments.host}:{arguments.port} "
        f"with {arguments.workers} worker(s), store {target.display}",
        file=sys.stderr,
    )
    try:
        serve_with_uvicorn(arguments, settings)
    finally:
        if child is not None:
            child.stop()
    return 0


def serve_with_uvicorn(arguments: argparse.Namespace, settings: Settings) -> None:
    """Serve until a signal stops uvicorn (its workers, when there are several)."""
    import uvicorn

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
