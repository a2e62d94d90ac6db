"""The server's CPU per PATCH over HTTP: accepted (200) against stale (412), under wrk.

One server (``shipments serve``, one worker) on a fresh store; one shipment. wrk
sends ``--duration`` seconds of PATCHes with ``If-Match: *`` (each one appended),
then as long of PATCHes with the tag of the version before the current one (each
one a 412 whose ``changesSince`` holds the current version). The figure is the server process tree's
CPU time (``/proc``: user + system) over the run divided by the requests wrk
completed: the PostgreSQL server's own CPU is not in it. Never asserts on timing.

Run: ``python -m bench.stale_http --stores sqlite,postgres --duration 8``.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import httpx

from bench.seeding import NEW_SHIPMENT
from bench.servers import REPO_ROOT, running_server
from bench.stores import STORE_KINDS, fresh_store, postgres_problem

SCRIPT = REPO_ROOT / "bench" / "wrk" / "stale_patch.lua"
_TICKS = os.sysconf("SC_CLK_TCK")


def process_tree_cpu(pid: int) -> float:
    """Seconds of CPU (user + system) used so far by ``pid`` and its descendants."""
    total = 0.0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(child) for child in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
        total += (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime
    return total


def cpu_per_request(
    pid: int, base_url: str, path: str, if_match: str, duration: int, connections: int
) -> tuple[float, int, int]:
    """(server CPU µs per request, requests, non-2xx answers) of one wrk run."""
    before = process_tree_cpu(pid)
    command = ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "-s", str(SCRIPT), base_url]
    output = subprocess.run(
        [*command, "--", path, if_match],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    used = process_tree_cpu(pid) - before
    requests = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    refused = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return used / requests * 1e6, requests, int(refused.group(1)) if refused else 0


def measure(store: str, directory: Path, duration: int, connections: int) -> None:
    """Print the CPU per accepted and per stale PATCH of one fresh deployment on ``store``."""
    with (
        fresh_store(store, directory, "stale_http") as url,
        running_server("service", url, directory) as server,
    ):
        created = httpx.post(f"{server.base_url}/v1/shipments", json=NEW_SHIPMENT).json()
        path = f"/v1/shipments/{created['id']}"
        pid = server.process.pid
        accepted = cpu_per_request(pid, server.base_url, path, "*", duration, connections)
        # The tag of the version before the current one: each 412 lists one version since.
        version = httpx.get(f"{server.base_url}{path}").json()["version"]
        stale_tag = f'"{_tag_of(server.base_url, path, version - 1)}"'
        stale = cpu_per_request(pid, server.base_url, path, stale_tag, duration, connections)
        for label, (micros, requests, refused) in (("200", accepted), ("412", stale)):
            print(
                f"stale http: {store:8} PATCH {label}: {micros:6.0f} µs server CPU per request "
                f"({requests} requests, {refused} non-2xx)",
                flush=True,
            )


def _tag_of(base_url: str, path: str, version: int) -> str:
    """The ETag of ``version`` of the shipment at ``path``."""
    tag: str = httpx.get(f"{base_url}{path}/versions/{version}").json()["eTag"]
    return tag


def main(argv: list[str] | None = None) -> int:
    """Command line: server CPU per accepted and per stale PATCH, per store."""
    parser = argparse.ArgumentParser(prog="python -m bench.stale_http", description=__doc__)
    parser.add_argument("--stores", default=",".join(STORE_KINDS))
    parser.add_argument("--duration", type=int, default=8, help="seconds per wrk run")
    parser.add_argument("-c", "--connections", type=int, default=16)
    arguments = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        print("stale http: wrk is not installed (bench/setup.sh)")
        return 1
    with tempfile.TemporaryDirectory(prefix="bench-stale-http-") as directory:
        for store in arguments.stores.split(","):
            if store == "postgres" and (problem := postgres_problem()) is not None:
                print(f"stale http: skipping postgres: {problem}")
                continue
            measure(store, Path(directory), arguments.duration, arguments.connections)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
