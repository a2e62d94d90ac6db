"""Server topologies for the concurrency suite: two endpoints onto one store."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.servers import RunningServer, running_server, running_servers

TOPOLOGIES = [
    pytest.param("two-workers", id="one-server-two-workers"),
    pytest.param("two-servers", id="two-servers"),
]


@dataclass(frozen=True)
class Endpoints:
    """Two base URLs onto one store, served by different OS processes."""

    urls: tuple[str, str]
    servers: Sequence[RunningServer]

    def logs(self) -> str:
        return "\n".join(f"--- {server.base_url}\n{server.log()}" for server in self.servers)


@contextmanager
def separate_servers(database_url: str, log_dir: Path) -> Iterator[Endpoints]:
    """Two separate ``shipments serve`` processes on the same store."""
    with running_servers(database_url, log_dir, 2) as (first, second):
        yield Endpoints((first.base_url, second.base_url), [first, second])


@pytest.fixture(params=TOPOLOGIES)
def endpoints(
    request: pytest.FixtureRequest, database_url: str, tmp_path: Path
) -> Iterator[Endpoints]:
    """Two endpoints onto one store, in each topology a deployment can have.

    ``two-workers``: one ``shipments serve --workers 2``; both URLs are the same
    and each client connection lands on whichever worker accepts it.
    ``two-servers``: two separate ``shipments serve`` processes.
    """
    if request.param == "two-workers":
        with running_server(database_url, tmp_path, workers=2) as server:
            yield Endpoints((server.base_url, server.base_url), [server])
    else:
        with separate_servers(database_url, tmp_path) as two:
            yield two


@pytest.fixture
def two_servers(database_url: str, tmp_path: Path) -> Iterator[Endpoints]:
    """Two separate ``shipments serve`` processes on the same store."""
    with separate_servers(database_url, tmp_path) as two:
        yield two
