"""A fallback load generator for machines without ``wrk``: asyncio + httpx, own process.

It is much slower than wrk (one Python process makes a few thousand requests a
second at best), so its figures are a lower bound on the server's capacity;
``bench.run`` says so when it falls back. Same semantics as ``wrk/shipments.lua``:
closed loop, ids round-robin over a per-client slice, PATCH with
``If-Match: *`` and a body that always changes something.

Run: ``python -m bench.python_load URL get|patch IDS_FILE --connections 8 --duration 5``;
prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

from bench.load_results import LoadResult, LoadSpec


async def _client_loop(
    client: httpx.AsyncClient,
    mode: str,
    ids: list[str],
    index: int,
    connections: int,
    deadline: float,
    latencies: list[float],
    failures: dict[str, int],
) -> None:
    # Each client walks its own slice of the ids, so no two ever PATCH the same shipment.
    mine = ids[len(ids) * index // connections : len(ids) * (index + 1) // connections] or ids
    position = 0
    sent = 0
    # Values no earlier run wrote: a repeated body on the same shipment is a no-op.
    run_tag = f"{os.getpid()}-{id(client):x}"
    while time.perf_counter() < deadline:
        path = f"/v1/shipments/{mine[position % len(mine)]}"
        position += 1
        sent += 1
        started = time.perf_counter()
        try:
            if mode == "patch":
                body = {
                    "weightLbs": sent % 100_000 + 1,
                    "customerRemarks": f"bench {run_tag} c{index} n{sent}",
                }
                answer = await client.patch(
                    path,
                    json=body,
                    headers={"If-Match": "*", "Content-Type": "application/merge-patch+json"},
                )
            else:
                answer = await client.get(path)
        except httpx.HTTPError:
            failures["socket"] += 1
            continue
        latencies.append(time.perf_counter() - started)
        if answer.status_code >= 400:
            failures["status"] += 1


async def _load(
    base_url: str, mode: str, ids: list[str], connections: int, duration_s: float, auth: str
) -> dict[str, float | int]:
    latencies: list[float] = []
    failures = {"status": 0, "socket": 0}
    headers = {"Authorization": auth} if auth else {}
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(
        base_url=base_url, headers=headers, limits=limits, timeout=10.0
    ) as client:
        started = time.perf_counter()
        deadline = started + duration_s
        await asyncio.gather(
            *(
                _client_loop(client, mode, ids, i, connections, deadline, latencies, failures)
                for i in range(connections)
            )
        )
        elapsed = time.perf_counter() - started
    quantiles = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    return {
        "requests": len(latencies),
        "duration_s": elapsed,
        "p50_ms": quantiles[49] * 1000,
        "p99_ms": quantiles[98] * 1000,
        "status_errors": failures["status"],
        "socket_errors": failures["socket"],
    }


def run_python_load(spec: LoadSpec) -> tuple[LoadResult, str]:
    """Run one load in a separate Python process, so the generator and this one don't mix."""
    command = [
        sys.executable,
        "-m",
        "bench.python_load",
        spec.base_url,
        spec.method.lower(),
        str(spec.ids_file),
        "--connections",
        str(spec.connections),
        "--duration",
        str(spec.duration_s),
        "--authorization",
        spec.headers.get("Authorization", ""),
    ]
    completed = subprocess.run(
        command,
        capture_output=True,
        text=True,
        check=True,
        timeout=spec.duration_s + 120,
        cwd=Path(__file__).resolve().parents[1],
    )
    figures = json.loads(completed.stdout.strip().splitlines()[-1])
    result = LoadResult(
        generator="python-httpx",
        requests=figures["requests"],
        duration_s=figures["duration_s"],
        requests_per_s=figures["requests"] / figures["duration_s"],
        p50_ms=figures["p50_ms"],
        p99_ms=figures["p99_ms"],
        non_2xx=figures["status_errors"],
        socket_errors=figures["socket_errors"],
    )
    return result, completed.stdout + completed.stderr


def main(argv: list[str] | None = None) -> int:
    """Command line of the generator process: prints the figures as one JSON line."""
    parser = argparse.ArgumentParser(prog="python -m bench.python_load", description=__doc__)
    parser.add_argument("base_url")
    parser.add_argument("mode", choices=("get", "patch"))
    parser.add_argument("ids_file", type=Path)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--authorization", default="")
    arguments = parser.parse_args(argv)
    ids = [line for line in arguments.ids_file.read_text().splitlines() if line]
    figures = asyncio.run(
        _load(
            arguments.base_url,
            arguments.mode,
            ids,
            arguments.connections,
            arguments.duration,
            arguments.authorization,
        )
    )
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
