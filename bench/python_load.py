"""A fallback load generator for machines without ``wrk``: asyncio + httpx, own process.

It is much slower than wrk (one Python process makes a few thousand requests a
second at best) and competes with the servers for the CPU, so its figures are a
lower bound on the servers' capacity; ``bench.run`` says so when it falls back.
Same workloads and semantics as ``wrk/shipments.lua`` (random shipments, each
client seeded with seed + its id, stale If-Match tags, read-modify-write with
retries on 412, the partitioned best case), and it prints the same ``BENCH_JSON`` figures, so
``bench.wrk_load.combine`` reads both.

Run: ``python -m bench.python_load URL MODE IDS_FILE --connections 8 --duration 5``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import subprocess
import sys
import time
import uuid
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from bench.contention import DATES_EPOCH, counters_of
from bench.load_results import LoadResult, LoadSpec
from bench.workloads import FIELD_GROUPS
from bench.wrk_load import RESULT_PREFIX, WrkFailed, combine, split

QUANTILE_PERCENTS = [i / 2 for i in range(1, 196)] + [i / 10 for i in range(976, 1001)]


def counter_patch(group: str, value: int) -> dict[str, Any]:
    """The merge patch that sets ``group``'s counter to ``value`` (as the wrk script does)."""
    if group == "weight":
        return {"weightLbs": value}
    if group == "remarks":
        return {"customerRemarks": f"rmw {value}"}
    if group == "dates":
        pickup = DATES_EPOCH + timedelta(days=value)
        return {
            "requestedPickupDate": pickup.isoformat(),
            "deliveryDate": (pickup + timedelta(days=3)).isoformat(),
        }
    return {
        "pickupAddress": {
            "streetAddress1": f"{value} Bench Street",
            "city": "Austin",
            "state": "TX",
            "postalCode": "78701",
        }
    }


class Tally:
    """What every client of the process saw."""

    def __init__(self) -> None:
        self.latencies_us: list[float] = []
        self.statuses = {"ok": 0, "s412": 0, "s5xx": 0, "other": 0}
        self.socket_errors = 0
        self.successes: dict[str, int] = {}
        self.unknown: dict[str, int] = {}
        self.conflicts = 0
        self.parse_failures = 0
        self.in_flight_at_end = 0
        self.update_ms_tenths: dict[str, int] = {}

    def add(self, table: dict[str, int], key: str) -> None:
        table[key] = table.get(key, 0) + 1

    def status(self, code: int) -> None:
        if 200 <= code < 300:
            self.statuses["ok"] += 1
        elif code == 412:
            self.statuses["s412"] += 1
        elif code >= 500:
            self.statuses["s5xx"] += 1
        else:
            self.statuses["other"] += 1


async def _timed(
    tally: Tally, client: httpx.AsyncClient, method: str, path: str, **kwargs: Any
) -> httpx.Response | None:
    started = time.perf_counter()
    try:
        answer = await client.request(method, path, **kwargs)
    except httpx.HTTPError:
        tally.socket_errors += 1
        return None
    tally.latencies_us.append((time.perf_counter() - started) * 1e6)
    tally.status(answer.status_code)
    return answer


class Client:
    """One closed-loop client: its own seed, its slice (best case), its field group (RMW)."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        options: argparse.Namespace,
        ids: list[str],
        client_id: int,
        tally: Tally,
        tags: list[str] | None = None,
    ) -> None:
        self.client, self.options, self.ids, self.tally = client, options, ids, tally
        self.tags = tags or []  # patch-stale: the If-Match of each id, by position
        self.client_id = client_id
        self.random = random.Random(options.seed + client_id)
        self.patch_headers = {"Content-Type": "application/merge-patch+json"}
        if options.merge:
            self.patch_headers["Prefer"] = "conflict=merge"
        self.first = len(ids) * client_id // options.partitions
        self.size = len(ids) * (client_id + 1) // options.partitions - self.first
        if self.size <= 0:
            self.first, self.size = 0, len(ids)
        self.sent = 0
        rmw_fields = options.mode == "rmw-fields"
        self.group = FIELD_GROUPS[client_id % len(FIELD_GROUPS)] if rmw_fields else "weight"
        self.target: int | None = None
        self.started_ms = 0.0

    async def run(self, deadline: float) -> None:
        mode = self.options.mode
        while time.perf_counter() < deadline:
            if mode in ("rmw", "rmw-fields"):
                if not await self.update_step(deadline):
                    return
                continue
            index = (
                self.random.randrange(len(self.ids))
                if mode in ("get", "patch", "patch-stale")
                else self.first + self.sent % self.size
            )
            self.sent += 1
            path = f"/v1/shipments/{self.ids[index]}"
            if mode.startswith("get"):
                await _timed(self.tally, self.client, "GET", path)
                continue
            body = {
                "weightLbs": self.sent % 100_000 + 1,
                "customerRemarks": f"bench {self.options.tag} t{self.client_id} n{self.sent}",
            }
            await _timed(
                self.tally,
                self.client,
                "PATCH",
                path,
                content=json.dumps(body),
                headers={
                    **self.patch_headers,
                    "If-Match": self.tags[index] if mode == "patch-stale" else "*",
                },
            )

    async def update_step(self, deadline: float) -> bool:
        """GET the target and PATCH it with the tag read; False when the run ended meanwhile."""
        tally = self.tally
        if self.target is None:
            self.target = self.random.randrange(len(self.ids)) + 1  # 1-based, as in Lua
            self.started_ms = time.perf_counter() * 1000
        path = f"/v1/shipments/{self.ids[self.target - 1]}"
        answer = await _timed(tally, self.client, "GET", path)
        if answer is None or answer.status_code != 200:
            return True
        etag = answer.headers.get("etag")
        try:
            value: int | None = counters_of(answer.json()).counters[self.group]
        except (KeyError, ValueError, TypeError, IndexError, AttributeError):
            value = None
        if etag is None or value is None:
            tally.parse_failures += 1
            return True
        key = f"{self.target}.{self.group}"
        task = asyncio.ensure_future(
            _timed(
                tally,
                self.client,
                "PATCH",
                path,
                content=json.dumps(counter_patch(self.group, value + 1)),
                headers={**self.patch_headers, "If-Match": etag},
            )
        )
        done, _ = await asyncio.wait({task}, timeout=max(deadline - time.perf_counter(), 0.0))
        if not done:
            # Still in flight when the run ends: it may yet be applied.
            tally.add(tally.unknown, key)
            tally.in_flight_at_end += 1
            task.cancel()
            return False
        patched = task.result()
        if patched is None or patched.status_code >= 500:
            tally.add(tally.unknown, key)  # maybe applied: retry the same shipment
        elif patched.status_code == 200:
            tally.add(tally.successes, key)
            elapsed = time.perf_counter() * 1000 - self.started_ms
            tally.add(tally.update_ms_tenths, str(int(elapsed * 10)))
            self.target = None
        elif patched.status_code == 412:
            tally.conflicts += 1  # read the same shipment again and retry
        else:
            self.target = None  # refused for another reason (an error): next shipment
        return True


async def _load(
    options: argparse.Namespace, ids: list[str], tags: list[str] | None = None
) -> dict[str, Any]:
    tally = Tally()
    headers = {"Authorization": options.authorization} if options.authorization else {}
    limits = httpx.Limits(
        max_connections=options.connections, max_keepalive_connections=options.connections
    )
    async with httpx.AsyncClient(
        base_url=options.base_url, headers=headers, limits=limits, timeout=10.0
    ) as client:
        started = time.perf_counter()
        deadline = started + options.duration
        await asyncio.gather(
            *(
                Client(client, options, ids, options.offset + i, tally, tags).run(deadline)
                for i in range(options.connections)
            )
        )
        elapsed = time.perf_counter() - started
    latencies = sorted(tally.latencies_us)

    def percentile(percent: float) -> float:
        if not latencies:
            return 0.0
        rank = max(1, round(percent / 100 * len(latencies) + 0.5))
        return latencies[min(rank, len(latencies)) - 1]

    return {
        "requests": len(latencies),
        "duration_us": int(elapsed * 1e6),
        "p50_us": percentile(50),
        "p99_us": percentile(99),
        "status_errors": sum(v for k, v in tally.statuses.items() if k != "ok"),
        "connect_errors": 0,
        "read_errors": tally.socket_errors,
        "write_errors": 0,
        "timeouts": 0,
        "statuses": tally.statuses,
        "successes": tally.successes,
        "unknown": tally.unknown,
        "conflicts": tally.conflicts,
        "in_flight_at_end": tally.in_flight_at_end,
        "parse_failures": tally.parse_failures,
        "update_ms_tenths": tally.update_ms_tenths,
        "latency_quantiles_us": [[p, percentile(p)] for p in QUANTILE_PERCENTS],
    }


def run_python_load(spec: LoadSpec) -> tuple[LoadResult, str]:
    """Run one load in separate Python processes (one per server), all started together."""
    workload = spec.workload
    connections = split(workload.connections, len(spec.base_urls))
    run_tag = uuid.uuid4().hex[:8]
    processes = []
    offset = 0
    for base_url, count in zip(spec.base_urls, connections, strict=True):
        command = [
            sys.executable,
            "-m",
            "bench.python_load",
            base_url,
            workload.mode,
            str(spec.ids_file),
            "--connections",
            str(count),
            "--duration",
            str(spec.duration_s),
            "--seed",
            str(spec.seed),
            "--offset",
            str(offset),
            "--partitions",
            str(workload.connections),
            "--tag",
            run_tag,
            "--authorization",
            spec.headers.get("Authorization", ""),
            *(["--merge"] if workload.merge else []),
            *(["--tags", str(spec.tags_file)] if spec.tags_file is not None else []),
        ]
        processes.append(
            subprocess.Popen(
                command,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                cwd=Path(__file__).resolve().parents[1],
            )
        )
        offset += count
    outputs, figures = [], []
    for process in processes:
        stdout, stderr = process.communicate(timeout=spec.duration_s + 120)
        outputs.append(stdout + stderr)
        lines = [line for line in stdout.splitlines() if line.startswith(RESULT_PREFIX)]
        if process.returncode != 0 or not lines:
            raise WrkFailed(f"the Python generator exited with {process.returncode}:\n{stderr}")
        figures.append(json.loads(lines[-1][len(RESULT_PREFIX) :]))
    result = replace(combine(figures, workload.read_modify_write), generator="python-httpx")
    return result, "\n".join(outputs)


def main(argv: list[str] | None = None) -> int:
    """Command line of the generator process: prints the figures as one BENCH_JSON line."""
    parser = argparse.ArgumentParser(prog="python -m bench.python_load", description=__doc__)
    parser.add_argument("base_url")
    parser.add_argument(
        "mode",
        choices=(
            "get",
            "patch",
            "patch-stale",
            "get-partitioned",
            "patch-partitioned",
            "rmw",
            "rmw-fields",
        ),
    )
    parser.add_argument("ids_file", type=Path)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--offset", type=int, default=0, help="id of this process's first client")
    parser.add_argument("--partitions", type=int, default=0, help="clients over all processes")
    parser.add_argument("--tag", default=uuid.uuid4().hex[:8])
    parser.add_argument("--merge", action="store_true")
    parser.add_argument("--authorization", default="")
    parser.add_argument(
        "--tags", type=Path, help="patch-stale: the If-Match of each id, one a line"
    )
    options = parser.parse_args(argv)
    options.partitions = options.partitions or options.connections
    ids = [line for line in options.ids_file.read_text().splitlines() if line]
    tags = None
    if options.mode == "patch-stale":
        if options.tags is None:
            parser.error("patch-stale needs --tags")
        tags = [line for line in options.tags.read_text().splitlines() if line]
        if len(tags) != len(ids):
            parser.error(f"{len(ids)} ids but {len(tags)} tags")
    figures = asyncio.run(_load(options, ids, tags))
    print(RESULT_PREFIX + json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
