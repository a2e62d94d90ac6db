"""Micro-benchmark without HTTP: the CPU of an accepted PATCH against a stale one (412).

One event loop awaits ``WriteAnswers.patch`` one write at a time, as the route
and the door in front of FastAPI do, on one shipment: ``--writes`` accepted
PATCHes (each with the current tag), then as many stale ones (each with the tag
of the version before the current one, so ``changesSince`` holds one item; the
412 is rendered as the problem handlers render it), ``--repeat`` times in turn.
The figure is the process CPU time (every thread: the loop, the committer,
worker threads; not the PostgreSQL server's) per write, the median of the rounds.
Never asserts on timing; it prints and returns figures.

Run: ``python -m bench.stale_writes --stores sqlite,postgres --writes 2000 --repeat 5``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import orjson
from pydantic import SecretStr

from api.http.problems import HttpProblem, problem_response
from api.http.write_answers import WriteAnswers, WriteRequest
from api.plumbing.principals import Principal, Role
from api.wiring import build_services
from bench.appends import CONTEXT, sample_details
from bench.servers import bench_master_key
from bench.stores import STORE_KINDS, fresh_store, postgres_problem
from infrastructure.settings import Settings
from projections.version_tags import encode_tag

WRITER = Principal(subject="bench", role=Role.WRITER)


@dataclass(frozen=True)
class StaleWritesResult:
    """CPU per write, in µs, of ``writes`` accepted and ``writes`` stale PATCHes."""

    store: str
    writes: int
    accepted_us: float
    stale_us: float


def _request(shipment_id: UUID, version: int, sent: int) -> WriteRequest:
    return WriteRequest(
        method="PATCH",
        path=f"/v1/shipments/{shipment_id}",
        body=orjson.dumps({"weightLbs": sent % 100_000 + 1, "customerRemarks": f"r{sent}"}),
        content_type="application/merge-patch+json",
        principal=WRITER,
        request_id=f"bench-{sent}",
        if_match=f'"{encode_tag(shipment_id, version)}"',
    )


async def _measure(
    writes: WriteAnswers, shipment_id: UUID, count: int, repeat: int
) -> tuple[float, float]:
    """The median CPU µs of an accepted and of a stale PATCH over ``repeat`` rounds."""
    version = 1
    accepted: list[float] = []
    stale: list[float] = []
    for _ in range(repeat):
        started = time.process_time()
        for sent in range(count):
            response = await writes.patch(shipment_id, _request(shipment_id, version, sent))
            assert response.status_code == 200
            version += 1
        accepted.append((time.process_time() - started) / count * 1e6)
        started = time.process_time()
        for sent in range(count):
            try:
                await writes.patch(shipment_id, _request(shipment_id, version - 1, sent))
            except HttpProblem as problem:
                assert problem.status == 412 and len(problem.extensions["changesSince"]) == 1
                problem_response(problem)
            else:
                raise AssertionError("a stale PATCH was accepted")
        stale.append((time.process_time() - started) / count * 1e6)
    return statistics.median(accepted), statistics.median(stale)


def measure_stale_writes(url: str, store: str, count: int, repeat: int = 1) -> StaleWritesResult:
    """Accepted, then stale PATCHes of one shipment in a fresh store at ``url``."""
    services = build_services(
        Settings(database_url=url, master_key=SecretStr(bench_master_key(url)))
    )
    try:
        shipment_id = services.shipments.create(sample_details(), CONTEXT).id
        writes = WriteAnswers(services.shipments)
        accepted, stale = asyncio.run(_measure(writes, shipment_id, count, repeat))
    finally:
        services.close()
    return StaleWritesResult(store, count, accepted, stale)


def main(argv: list[str] | None = None) -> int:
    """Command line: the CPU per accepted and per stale PATCH, per store."""
    parser = argparse.ArgumentParser(prog="python -m bench.stale_writes", description=__doc__)
    parser.add_argument("--stores", default=",".join(STORE_KINDS))
    parser.add_argument(
        "--writes", type=int, default=2000, help="per round, accepted and stale each"
    )
    parser.add_argument("--repeat", type=int, default=5, help="rounds; the median is quoted")
    arguments = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-stale-") as directory:
        for store in arguments.stores.split(","):
            if store == "postgres" and (problem := postgres_problem()) is not None:
                print(f"stale writes: skipping postgres: {problem}")
                continue
            with fresh_store(store, Path(directory), "stale") as url:
                result = measure_stale_writes(url, store, arguments.writes, arguments.repeat)
            print(
                f"stale writes: {store:8} CPU per PATCH: 200 {result.accepted_us:7.0f} µs, "
                f"412 {result.stale_us:7.0f} µs (median of {arguments.repeat} rounds of "
                f"{result.writes} each)",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
