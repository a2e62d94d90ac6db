"""``shipments serve``: run the HTTP API with uvicorn."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from infrastructure.database_url import UnsupportedDatabaseUrl, parse_database_url
from infrastructure.settings import Settings


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
    build_services(settings).close()
    os.environ["SHIPMENTS_CREATE_TABLES"] = "false"
    print(
        f"shipments: serving on http://{arguments.host}:{arguments.port} "
        f"with {arguments.workers} worker(s), store {target.display}",
        file=sys.stderr,
    )
    uvicorn.run(
        "api.app:create_app_from_env",
        factory=True,
        host=arguments.host,
        port=arguments.port,
        workers=arguments.workers,
        log_level=settings.log_level,
        access_log=False,
    )
    return 0
