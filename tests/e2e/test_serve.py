"""``shipments serve`` as a user runs it: a real process, real HTTP, a store that outlives it.

On SQLite the server is started with no database setting at all, in an empty
directory, so it uses its default (``sqlite:///./shipments.db``, relative to the
working directory) exactly as ``make run`` does. On PostgreSQL it gets a schema
of its own. Either way the second start finds the tables and the data of the first.
"""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.servers import RunningServer, running_server

pytestmark = pytest.mark.slow

MERGE_PATCH = "application/merge-patch+json"
TIMEOUT_SECONDS = 30.0


@pytest.fixture
def served_database_url(store_kind: str, database_url: str) -> str | None:
    """What the server is told: nothing on SQLite (its default), the schema URL on PostgreSQL."""
    return None if store_kind == "sqlite" else database_url


def assert_clean_shutdown(server: RunningServer) -> None:
    """Stopped by SIGTERM without a crash (uvicorn re-raises the signal once shut down)."""
    assert server.process.returncode in (0, -signal.SIGTERM), server.log()
    assert "Traceback" not in server.log(), server.log()


def test_serve_answers_over_http_and_keeps_its_data_across_a_restart(
    store_kind: str,
    served_database_url: str | None,
    tmp_path: Path,
    new_shipment: dict[str, Any],
) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    with running_server(served_database_url, logs, cwd=tmp_path) as first:
        http = httpx.Client(base_url=first.base_url, timeout=TIMEOUT_SECONDS)
        docs = http.get("/docs")
        assert docs.status_code == 200
        assert docs.headers["content-type"].startswith("text/html")
        openapi = http.get("/openapi.json")
        assert openapi.status_code == 200
        assert {"/v1/shipments", "/v1/shipments/{shipment_id}"} <= set(openapi.json()["paths"])

        created = http.post("/v1/shipments", json=new_shipment)
        assert created.status_code == 201, created.text
        location = created.headers["Location"]
        fetched = http.get(location)
        assert fetched.status_code == 200
        assert fetched.json() == created.json()
        assert fetched.headers["ETag"] == created.headers["ETag"]

        patched = http.patch(
            location,
            json={"weightLbs": 4200, "customerRemarks": "fragile"},
            headers={"If-Match": created.headers["ETag"], "Content-Type": MERGE_PATCH},
        )
        assert patched.status_code == 200, patched.text
        assert patched.json()["version"] == 2
        before_restart = http.get(location)
        assert before_restart.json() == patched.json()
        http.close()
    assert_clean_shutdown(first)
    if store_kind == "sqlite":
        assert (tmp_path / "shipments.db").is_file()

    with running_server(served_database_url, logs, cwd=tmp_path) as second:
        http = httpx.Client(base_url=second.base_url, timeout=TIMEOUT_SECONDS)
        after_restart = http.get(location)
        assert after_restart.status_code == 200
        assert after_restart.json() == before_restart.json()
        assert after_restart.headers["ETag"] == patched.headers["ETag"]

        stale = http.patch(
            location,
            json={"weightLbs": 1},
            headers={"If-Match": created.headers["ETag"], "Content-Type": MERGE_PATCH},
        )
        assert stale.status_code == 412
        assert stale.json()["currentVersion"] == 2
        continued = http.patch(
            location,
            json={"status": "SUBMITTED"},
            headers={"If-Match": after_restart.headers["ETag"], "Content-Type": MERGE_PATCH},
        )
        assert continued.status_code == 200, continued.text
        assert continued.json()["version"] == 3
        assert continued.json()["weightLbs"] == 4200
        http.close()
    assert_clean_shutdown(second)
