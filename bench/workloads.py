"""What the benchmark drives (workloads) and against what (deployment shapes).

The workloads collide the way real traffic does: clients pick shipments at random,
so writes in flight name the same shipment; the read-modify-write loops make
clients race on a few shipments with the tags they read. The old partitioned
load (each generator thread walking its own ids in order) is kept only as a
labelled best case. See ``bench/README.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

# The shipments a workload draws from: every seeded one, the first HOT of them, the
# small contended set seeded with counters for the read-modify-write loops, or the
# stale set: shipments moved past version 1, with the tag of their version 1 kept.
ALL, HOT, CONTENDED, STALE = "all", "hot", "contended", "stale"
FIELD_GROUPS = ("weight", "remarks", "dates", "address")

# The answers a workload is built to get; any other answer is an error.
EXPECT_2XX = "2xx"  # GET, and PATCH with If-Match: * (never 412)
EXPECT_2XX_OR_412 = "2xx or 412"  # read-modify-write: a lost race is 412, then a retry
EXPECT_412 = "412"  # a PATCH naming a version the shipment has moved past


@dataclass(frozen=True)
class Workload:
    """One load: its generator mode, the shipments it draws from and its client count."""

    name: str  # key in tables and results, e.g. "patch-hot", "rmw-fields+merge"
    label: str  # what the tables print
    mode: str  # the wrk script's mode (bench/wrk/shipments.lua)
    id_set: str  # ALL, HOT or CONTENDED
    connections: int  # over all generator processes
    threads: int  # over all generator processes
    merge: bool = False  # send "Prefer: conflict=merge" with every PATCH

    @property
    def read_modify_write(self) -> bool:
        """Clients update with the tag they read: 412 is an expected answer, not an error."""
        return self.mode in ("rmw", "rmw-fields")

    @property
    def expected(self) -> str:
        """Which answers are the workload's normal ones (EXPECT_*); the rest are errors."""
        if self.read_modify_write:
            return EXPECT_2XX_OR_412
        if self.mode == "patch-stale":
            return EXPECT_412
        return EXPECT_2XX

    @property
    def partitioned(self) -> bool:
        return self.mode.endswith("-partitioned")


@dataclass(frozen=True)
class Shape:
    """How the system under test is deployed: processes, and workers per process."""

    name: str
    label: str
    servers: int
    workers: int


SHAPES: dict[str, Shape] = {
    "1w": Shape("1w", "1 worker", servers=1, workers=1),
    "2w": Shape("2w", "--workers 2", servers=1, workers=2),
    "2servers": Shape("2servers", "two servers, one database", servers=2, workers=1),
}

WORKLOAD_CHOICES = (
    "get",
    "patch-uniform",
    "patch-hot",
    "patch-stale",
    "rmw",
    "rmw-fields",
    "best-case",
)


def expand_workloads(
    names: list[str],
    connections: int,
    threads: int,
    hot: int,
    contended: int,
    stale: int = 200,
) -> list[Workload]:
    """The workloads the names ask for, in a fixed order (``rmw-fields`` is two loads)."""
    catalogue: dict[str, list[Workload]] = {
        "get": [Workload("get", f"GET uniform -c{connections}", "get", ALL, connections, threads)],
        "patch-uniform": [
            Workload(
                "patch-uniform",
                f"PATCH * uniform -c{connections}",
                "patch",
                ALL,
                connections,
                threads,
            )
        ],
        "patch-hot": [
            Workload(
                "patch-hot",
                f"PATCH * hot {hot} -c{connections}",
                "patch",
                HOT,
                connections,
                threads,
            )
        ],
        # What a refused write costs: every PATCH names version 1 of a shipment that
        # has moved past it, so every answer should be 412 (and nothing is written).
        "patch-stale": [
            Workload(
                "patch-stale",
                f"PATCH stale If-Match, {stale} shipments -c{connections}",
                "patch-stale",
                STALE,
                connections,
                threads,
            )
        ],
        # One client per wrk thread: each thread is a client doing GET -> PATCH in turn.
        "rmw": [
            Workload(
                "rmw",
                f"RMW {connections} clients on {contended}",
                "rmw",
                CONTENDED,
                connections,
                connections,
            )
        ],
        "rmw-fields": [
            Workload(
                "rmw-fields",
                f"RMW own field, {connections} on {contended}",
                "rmw-fields",
                CONTENDED,
                connections,
                connections,
            ),
            Workload(
                "rmw-fields+merge",
                f"RMW own field + merge, {connections} on {contended}",
                "rmw-fields",
                CONTENDED,
                connections,
                connections,
                merge=True,
            ),
        ],
        "best-case": [
            Workload(
                "best-case",
                f"best case: PATCH * partitioned, no collisions -c{connections}",
                "patch-partitioned",
                ALL,
                connections,
                threads,
            )
        ],
    }
    unknown = [name for name in names if name not in catalogue]
    if unknown:
        raise ValueError(f"unknown workload(s) {unknown}: use {', '.join(WORKLOAD_CHOICES)}")
    return [w for name in WORKLOAD_CHOICES if name in names for w in catalogue[name]]
