"""``bench.delivery_lag --deliverer serve``: push delivery from real ``shipments serve`` processes.

The deployment as users run it: ``--servers`` ``shipments serve --workers N`` on
one fresh store (``bench.servers``, as the HTTP benchmarks start them; no
projection runner, as the in-process modes), each delivering from its own child
(``shipments deliver --nice 10``; the leases split the subscriptions between
two servers' children). The subscriptions are made over HTTP (``POST
/v1/subscriptions`` from position 0), and so are the writes: ``--writers``
threads, each with its own keep-alive ``http.client`` connection, its own seed and its
server (thread i writes to server i mod ``--servers``), one create
(``bench.seeding``'s body) per four merge patches on the hot set (the latest
``--hot-set`` shipments created), each patch a real change. The patches are
blind (``If-Match: *``, ``--writes patch``) or read-modify-write loops
(``--writes rmw``): GET the shipment, PATCH its weight plus one with the tag
read, and on 412 (another writer got there first) read it again and retry; the
412s are counted.

Before the window, the hot set is created and its deliveries awaited and set
aside: every subscription is then leased and delivering. The window's CPU is
read from ``/proc`` (``bench.cpu_cost``): the servers' process trees (server,
workers, delivery children), the delivery children alone, PostgreSQL's
processes serving them, the receiver process, and this process (the writers).
"""

from __future__ import annotations

import http.client
import random
import threading
import time
from collections.abc import Generator, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import orjson

from bench.cpu_cost import CpuSnapshot, cost_between, take_snapshot
from bench.cpu_shares import (
    THIS_PROCESS,
    Party,
    Shares,
    mark_shares,
    named,
    postgres_serving,
    shares_between,
    these,
    trees,
)
from bench.delivery_arrivals import LagFigures, judge
from bench.paced_writers import run_paced
from bench.proc_stat import CLOCK_TICKS_PER_S, PROC, ProcessTimes, descendants, read_processes
from bench.receiver_control import DRAIN_SECONDS, NATS_URL, Receiver
from bench.seeding import NEW_SHIPMENT, seed_shipments
from bench.servers import RunningServer, running_deployment

CREATE_SHARE = 0.2  # one create per four patches
HOT_SET = 100  # patches go to the latest this many shipments created (by default)
MAX_RETRIES = 50  # a read-modify-write loop gives up (an error) after this many 412s
SERVER_ENV = {
    "SHIPMENTS_WEBHOOK_ALLOW_PRIVATE": "true",  # the receivers are on loopback
    "SHIPMENTS_PROJECTION_RUNNER": "false",  # as the in-process modes: delivery, not views
}
PATCH_HEADERS = {"Content-Type": "application/merge-patch+json", "If-Match": "*"}
JSON_HEADERS = {"Content-Type": "application/json"}
CREATE_BODY = orjson.dumps(NEW_SHIPMENT)


@dataclass(frozen=True)
class Deployment:
    """The running servers, the subscriptions' receiver paths, the hot set, the feed's head."""

    servers: list[RunningServer]
    paths: list[str]
    hot: list[str]
    head: int  # the feed's last position before the measured window

    @property
    def bases(self) -> list[str]:
        return [server.base_url for server in self.servers]

    @property
    def pids(self) -> list[int]:
        return [server.process.pid for server in self.servers]


def feed_positions(base: str, after: int = 0) -> list[int]:
    """Every position of the feed after ``after``, in order (``GET /v1/events``)."""
    positions: list[int] = []
    with httpx.Client(base_url=base, timeout=30.0) as client:
        while True:
            answer = client.get("/v1/events", params={"after": after, "limit": 500})
            answer.raise_for_status()
            items = answer.json()["items"]
            if not items:
                return positions
            positions += [int(item["position"]) for item in items]
            after = positions[-1]


@contextmanager
def deployment(
    url: str,
    receiver: Receiver,
    tag: str,
    subscriptions: int,
    log_dir: Path,
    *,
    servers: int,
    workers: int,
) -> Iterator[Deployment]:
    """The servers on store ``url`` with ``subscriptions`` webhooks (+ JetStream), warmed up."""
    with running_deployment(
        "service", url, log_dir, servers=servers, workers=workers, extra_env=SERVER_ENV
    ) as running:
        base = running[0].base_url
        targets = {
            f"/{tag}/hook/{n}": f"{receiver.base}/{tag}/hook/{n}" for n in range(subscriptions)
        }
        if subscriptions and receiver.subject_prefix is not None:
            targets[f"/{tag}/nats"] = f"{NATS_URL}/{receiver.subject_prefix}.{tag}"
        secrets = {}
        with httpx.Client(base_url=base, timeout=30.0) as client:
            for path, target in targets.items():
                made = client.post("/v1/subscriptions", json={"url": target, "after": 0})
                if made.status_code != 201:
                    raise RuntimeError(f"POST /v1/subscriptions: {made.status_code} {made.text}")
                secrets[path] = [made.json()["secret"]]
        receiver.call("POST", "secrets", body=secrets)
        hot = seed_shipments(base, HOT_SET, concurrency=8)
        # Every subscription leased and delivering: the hot set's creates reached each.
        if not receiver.wait_for(f"/{tag}/", HOT_SET * len(targets), DRAIN_SECONDS):
            raise RuntimeError("the warm-up's deliveries did not all arrive")
        receiver.call("POST", "take", f"/{tag}/")
        positions = feed_positions(base)
        yield Deployment(running, list(targets), hot, positions[-1] if positions else 0)


@dataclass
class Writes:
    """What the writer threads did: accepted writes, and the refused or failed ones."""

    accepted: int = 0
    errors: int = 0
    conflicts: int = 0  # 412s a read-modify-write loop met (and retried)
    first_error: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def conflicted(self) -> None:
        with self.lock:
            self.conflicts += 1

    def failed(self, what: str) -> None:
        with self.lock:
            self.errors += 1
            self.first_error = self.first_error or what


class KeptAlive:
    """One writer's keep-alive connection: ``http.client``, not httpx, for the CPU.

    The writers share the 2 cores with the service they measure: an httpx request
    cost ~0.65 ms of this process's CPU per write, ``http.client`` a fraction of it.
    """

    def __init__(self, base: str) -> None:
        parts = urlsplit(base)
        self._host, self._port = parts.hostname or "127.0.0.1", parts.port or 80
        self._connection = http.client.HTTPConnection(self._host, self._port, timeout=30.0)

    def send(
        self, method: str, path: str, body: bytes, headers: Mapping[str, str] = JSON_HEADERS
    ) -> tuple[int, bytes]:
        self._connection.request(method, path, body=body, headers=dict(headers))
        response = self._connection.getresponse()
        return response.status, response.read()

    def reconnect(self) -> None:
        self._connection.close()
        self._connection = http.client.HTTPConnection(self._host, self._port, timeout=30.0)

    def close(self) -> None:
        self._connection.close()


@dataclass(frozen=True)
class Traffic:
    """What the writers send: blind patches or read-modify-write loops, on how hot a set."""

    read_modify_write: bool = False
    hot_set: int = HOT_SET

    def describe(self) -> str:
        patches = (
            "read-modify-write patches (GET, PATCH with its ETag, again on 412)"
            if self.read_modify_write
            else "patches (If-Match: *)"
        )
        return f"1 create per 4 {patches} on the latest {self.hot_set} shipments"


def write_over_http(
    deployment: Deployment,
    seconds: float,
    rate: float | None,
    writers: int,
    seed: int,
    traffic: Traffic,
) -> Writes:
    """Creates and patches for ``seconds`` at ``rate`` per second in all (None: flat out)."""
    writes = Writes()
    hot = list(deployment.hot)  # shared: creates append, patches pick among the latest

    def writes_of(index: int) -> Generator[bool, None, None]:
        chance = random.Random(seed + index)
        client = KeptAlive(deployment.bases[index % len(deployment.bases)])
        sent = 0
        try:
            while True:
                sent += 1
                try:
                    if chance.random() < CREATE_SHARE:
                        status, answer = client.send("POST", "/v1/shipments", CREATE_BODY)
                        if status == 201:
                            hot.append(orjson.loads(answer)["id"])
                    else:
                        path = f"/v1/shipments/{chance.choice(hot[-traffic.hot_set :])}"
                        remarks = f"bench w{index} n{sent}"
                        if traffic.read_modify_write:
                            status, answer = read_modify_write(client, path, remarks, writes)
                        else:
                            body = {"weightLbs": sent % 100_000 + 1, "customerRemarks": remarks}
                            status, answer = client.send(
                                "PATCH", path, orjson.dumps(body), PATCH_HEADERS
                            )
                except (OSError, http.client.HTTPException) as error:
                    writes.failed(repr(error))
                    client.reconnect()
                    yield False
                    continue
                if not 200 <= status < 300:
                    writes.failed(f"{status} {answer[:200].decode(errors='replace')}")
                yield 200 <= status < 300
        finally:
            client.close()

    writes.accepted = run_paced(writers, seconds, rate, writes_of)
    return writes


def read_modify_write(
    client: KeptAlive, path: str, remarks: str, writes: Writes
) -> tuple[int, bytes]:
    """GET the shipment, PATCH its weight plus one with the tag read; on 412 read it again."""
    for _ in range(MAX_RETRIES):
        status, answer = client.send("GET", path, b"", {})
        if status != 200:
            return status, answer
        current = orjson.loads(answer)
        weight = (current.get("weightLbs") or 0) % 100_000 + 1  # read, then modified
        body = {"weightLbs": weight, "customerRemarks": remarks}
        headers = {"Content-Type": "application/merge-patch+json", "If-Match": current["eTag"]}
        status, answer = client.send("PATCH", path, orjson.dumps(body), headers)
        if status != 412:
            return status, answer
        writes.conflicted()
    return status, answer


def delivery_children(
    processes: Mapping[int, ProcessTimes], server_pids: Sequence[int], proc: Path = PROC
) -> set[int]:
    """The ``shipments deliver`` processes in the servers' trees (one child per server)."""
    found = set()
    for pid in descendants(processes, server_pids):
        try:
            arguments = (proc / str(pid) / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"api.cli" in arguments and b"deliver" in arguments:
            found.add(pid)
    return found


@dataclass(frozen=True)
class Mark:
    """The CPU counters at one instant, for the difference over a window."""

    snapshot: CpuSnapshot  # the servers' trees and PostgreSQL's processes
    delivery_ticks: Mapping[int, int]  # each delivery child: its own ticks
    receiver_ticks: int
    writers_cpu_s: float  # this process: the HTTP writers


def mark(server_pids: Sequence[int], receiver_pid: int, proc: Path = PROC) -> Mark:
    processes = read_processes(proc)
    children = delivery_children(processes, server_pids, proc)
    receiver = processes.get(receiver_pid)
    return Mark(
        take_snapshot(server_pids, proc),
        {pid: processes[pid].ticks for pid in children},
        0 if receiver is None else receiver.ticks,
        time.process_time(),
    )


@dataclass(frozen=True)
class ServeCpu:
    """A window's CPU in ms per accepted write, by whose."""

    servers: float  # every process of the servers' trees, the delivery children included
    delivery: float  # the delivery children alone
    postgres: float | None  # PostgreSQL's processes serving the servers (None: not on it)
    receiver: float
    writers: float  # the benchmark's writer threads (HTTP clients)
    children_changed: bool  # a delivery child was not the same at both ends: it restarted
    idle_percent: float  # of the machine's cores over the window

    def parts(self) -> dict[str, float]:
        """The figures beside the servers' own, as the benchmark prints them."""
        parts = {"delivery child": self.delivery}
        if self.postgres is not None:
            parts["PostgreSQL"] = self.postgres
        return parts | {"receiver": self.receiver, "HTTP writers": self.writers}


def cpu_per_write(
    start: Mark,
    end: Mark,
    writes: int,
    *,
    postgres: bool,
    ticks_per_s: int = CLOCK_TICKS_PER_S,
) -> ServeCpu:
    """The difference of two marks over ``writes``; a child seen at one end only counts as
    changed (its ticks since it started count; those of one that exited are in its server's)."""
    cost = cost_between(start.snapshot, end.snapshot, writes, ticks_per_s)
    delivery_ticks = sum(
        max(0, ticks - start.delivery_ticks.get(pid, 0))
        for pid, ticks in end.delivery_ticks.items()
    )
    per_write = 1000.0 / max(1, writes)
    return ServeCpu(
        servers=cost.server_cpu_s * per_write,
        delivery=delivery_ticks / ticks_per_s * per_write,
        postgres=cost.postgres_cpu_s * per_write if postgres else None,
        receiver=max(0, end.receiver_ticks - start.receiver_ticks) / ticks_per_s * per_write,
        writers=max(0.0, end.writers_cpu_s - start.writers_cpu_s) * per_write,
        children_changed=set(start.delivery_ticks) != set(end.delivery_ticks),
        idle_percent=cost.idle_percent,
    )


@dataclass(frozen=True)
class ServeLag:
    written: int
    figures: LagFigures
    cpu: ServeCpu
    notes: str  # write errors, a restarted delivery child: what must not happen


def lag_run(
    url: str,
    receiver: Receiver,
    tag: str,
    log_dir: Path,
    *,
    subscriptions: int,
    seconds: float,
    rate: float,
    writers: int,
    servers: int,
    workers: int,
    seed: int,
    traffic: Traffic,
) -> ServeLag:
    """Writes at the rate, then until every delivery arrived: lag, completeness, CPU."""
    postgres = url.startswith("postgresql")
    with deployment(
        url, receiver, tag, subscriptions, log_dir, servers=servers, workers=workers
    ) as deployed:
        started = mark(deployed.pids, receiver.pid)
        writes = write_over_http(deployed, seconds, rate, writers, seed, traffic)
        receiver.wait_for(f"/{tag}/", writes.accepted * len(deployed.paths), DRAIN_SECONDS)
        ended = mark(deployed.pids, receiver.pid)
        positions = feed_positions(deployed.bases[0], deployed.head)
        taken = receiver.call("POST", "take", f"/{tag}/")
    cpu = cpu_per_write(started, ended, writes.accepted, postgres=postgres)
    notes = []
    if writes.errors:
        notes.append(f"WRITE ERRORS: {writes.errors} (first: {writes.first_error})")
    if traffic.read_modify_write:
        notes.append(f"{writes.conflicts} answers 412, read again and retried")
    if len(positions) != writes.accepted:
        notes.append(f"FEED HAS {len(positions)} EVENTS FOR {writes.accepted} ACCEPTED WRITES")
    if cpu.children_changed or len(started.delivery_ticks) != servers:
        notes.append(
            f"DELIVERY CHILDREN {sorted(started.delivery_ticks)} -> {sorted(ended.delivery_ticks)}"
        )
    return ServeLag(writes.accepted, judge(taken, deployed.paths, positions), cpu, "; ".join(notes))


def throughput(
    url: str,
    receiver: Receiver,
    tag: str,
    log_dir: Path,
    *,
    subscriptions: int,
    seconds: float,
    writers: int,
    servers: int,
    workers: int,
    seed: int,
    traffic: Traffic,
) -> tuple[Writes, int, Shares]:
    """Flat-out writers while ``subscriptions`` run: their writes, the deliveries, the cores."""
    with deployment(
        url, receiver, tag, subscriptions, log_dir, servers=servers, workers=workers
    ) as deployed:
        parties = serve_parties(deployed.pids, receiver.pid, postgres=url.startswith("postgresql"))
        started, delivered_before = mark_shares(parties), receiver.call("GET", "count", f"/{tag}/")
        writes = write_over_http(deployed, seconds, None, writers, seed, traffic)
        delivered = receiver.call("GET", "count", f"/{tag}/") - delivered_before
        shares = shares_between(started, mark_shares(parties))
    receiver.call("POST", "take", f"/{tag}/")  # what was delivered is not judged here
    return writes, delivered, shares


SERVICE_PARTIES = ("servers", "delivery children", "PostgreSQL")  # the service's own CPU


def serve_parties(server_pids: Sequence[int], receiver_pid: int, *, postgres: bool) -> list[Party]:
    """Whose a process is in serve mode: the delivery children first, then the rest of the
    servers' trees, PostgreSQL's processes serving them, the receiver, NATS, the writers."""
    parties: list[Party] = [
        ("delivery children", lambda found, proc: delivery_children(found, server_pids, proc)),
        ("servers", trees(server_pids)),
    ]
    if postgres:
        parties.append(("PostgreSQL", postgres_serving(server_pids)))
    parties.append(("receiver", these([receiver_pid])))
    parties.append(("NATS server", named("nats-server")))
    parties.append(("HTTP writers", these([THIS_PROCESS])))
    return parties
