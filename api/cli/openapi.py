"""``shipments openapi``: write the OpenAPI document that is committed as ``docs/openapi.json``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from api.http.app import create_app
from api.http.openapi_document import document_text
from infrastructure.settings import Settings


def register(commands: Any) -> None:
    """Add the ``openapi`` sub-command."""
    command = commands.add_parser(
        "openapi",
        help="print the OpenAPI document, or write it to a file (docs/openapi.json)",
        description="The document the server serves at /openapi.json, pretty-printed with "
        "sorted keys. It depends on the code only, never on the store or the settings.",
    )
    command.add_argument("--output", "-o", type=Path, help="write it here instead of stdout")
    command.set_defaults(run=run)


def run(arguments: argparse.Namespace) -> int:
    """0 once the document is printed or written."""
    text = document_text(create_app(Settings()))
    if arguments.output is None:
        sys.stdout.write(text)
    else:
        arguments.output.write_text(text, encoding="utf-8")
        print(f"wrote {arguments.output}", file=sys.stderr)
    return 0
