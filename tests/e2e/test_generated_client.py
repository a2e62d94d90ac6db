"""A Python client generated from ``/openapi.json`` by openapi-python-client just works.

The client is generated at test time into a temporary folder (nothing generated is
committed) and drives a real ``shipments serve`` with authentication on: create,
read, replace with If-Match, a stale replace whose 412 is parsed into its PreconditionProblem
model, a merge patch, history and the list.
"""

from __future__ import annotations

import importlib
import inspect
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from api.cli.tokens import configured_token_store
from api.http.openapi_docs import EXAMPLE_CREATE
from infrastructure.settings import Settings
from tests.support.servers import RunningServer, running_server

PACKAGE = "generated_shipments_client"


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The generated package, importable for the length of this module's tests."""
    folder = tmp_path_factory.mktemp("client")
    spec = folder / "openapi.json"
    bin_dir = Path(sys.executable).parent
    subprocess.run([bin_dir / "shipments", "openapi", "--output", spec], check=True)
    subprocess.run(
        [
            bin_dir / "openapi-python-client",
            "generate",
            "--path",
            spec,
            "--output-path",
            folder / PACKAGE,
            "--meta",
            "none",
        ],
        check=True,
        cwd=folder,
        env={**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"},
        capture_output=True,
    )
    sys.path.insert(0, str(folder))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(folder))
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def module(name: str) -> Any:
    return importlib.import_module(f"{PACKAGE}.{name}")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[RunningServer, str]]:
    """A server on a fresh SQLite store, with a writer token."""
    database_url = f"sqlite:///{tmp_path}/client.db"
    with configured_token_store(Settings(database_url=database_url)) as tokens:
        token = tokens.add("generated-client", "writer")
    with running_server(database_url, tmp_path) as running:
        yield running, token


@pytest.mark.parametrize("operation", ["replace_shipment", "patch_shipment"])
def test_the_generated_writes_require_if_match(generated: ModuleType, operation: str) -> None:
    writes = module(f"api.shipments.{operation}")
    for function in (writes.sync, writes.sync_detailed, writes.asyncio, writes.asyncio_detailed):
        parameter = inspect.signature(function).parameters["if_match"]
        assert parameter.default is inspect.Parameter.empty, function


def test_the_generated_functions_have_readable_names(generated: ModuleType) -> None:
    for name in (
        "shipments.create_shipment",
        "shipments.get_shipment",
        "shipments.replace_shipment",
        "shipments.patch_shipment",
        "shipments.list_shipments",
        "history.get_shipment_history",
        "history.get_shipment_version",
        "events.list_events",
        "events.stream_events",
    ):
        assert module(f"api.{name}").sync_detailed


@pytest.mark.slow
def test_a_generated_client_drives_the_conditional_write_cycle(
    generated: ModuleType, server: tuple[RunningServer, str]
) -> None:
    running, token = server
    models = module("models")
    client = module("client").AuthenticatedClient(base_url=running.base_url, token=token)

    create = module("api.shipments.create_shipment")
    created = create.sync_detailed(
        client=client, body=models.ShipmentCreate.from_dict(EXAMPLE_CREATE)
    )
    assert created.status_code == 201
    shipment = created.parsed
    assert isinstance(shipment, models.ShipmentOut)
    assert shipment.status == models.Status.DRAFT

    read = module("api.shipments.get_shipment").sync_detailed(shipment.id, client=client)
    assert read.status_code == 200
    first_tag = read.headers["ETag"]

    replace = module("api.shipments.replace_shipment")
    body = models.ShipmentWrite.from_dict({**EXAMPLE_CREATE, "weightLbs": 5000})
    replaced = replace.sync_detailed(shipment.id, client=client, body=body, if_match=first_tag)
    assert replaced.status_code == 200
    assert replaced.parsed.version == 2

    stale = replace.sync_detailed(shipment.id, client=client, body=body, if_match=first_tag)
    assert stale.status_code == 412
    problem = stale.parsed
    assert isinstance(problem, models.PreconditionProblem)
    assert problem.current_version == 2
    assert problem.type_ == "/problems/version-conflict"

    patched = module("api.shipments.patch_shipment").sync_detailed(
        shipment.id,
        client=client,
        body=models.ShipmentPatch.from_dict({"status": "SUBMITTED"}),
        if_match=replaced.headers["ETag"],
    )
    assert patched.status_code == 200, patched.content
    assert patched.parsed.status == models.Status.SUBMITTED

    history = module("api.history.get_shipment_history").sync(shipment.id, client=client)
    assert isinstance(history, models.HistoryPage)
    assert [item.version for item in history.items] == [1, 2, 3]

    listed = module("api.shipments.list_shipments").sync(client=client)
    assert isinstance(listed, models.ShipmentPage)
    assert [item.id for item in listed.items] == [shipment.id]
