"""GET of one shipment with a JWT access token against the same GET with a static token.

One server (``shipments serve``, one worker) on a fresh store trusts both a
static token (``shipments tokens add``) and the RS256 access tokens of a key set
this process serves on 127.0.0.1 (``SHIPMENTS_OIDC_JWKS_URL``). wrk then sends
``--rounds`` pairs of ``--duration``-second runs, static and JWT alternating, so
both kinds see the same machine; the figures are each kind's median req/s and
their ratio (the goal, issue #23: JWT ≥ 0.9x static), and the server's CPU per
request (``/proc``, its process tree), which a busy machine disturbs less. The server remembers a
verified token until it expires, so a client that sends one token many times
pays for one signature check: that is what this measures. Never asserts on timing.

Run: ``python -m bench.jwt_reads --stores sqlite,postgres --rounds 5 --duration 5``.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from api.cli.tokens import configured_token_store
from bench.seeding import NEW_SHIPMENT
from bench.servers import running_server
from bench.stale_http import process_tree_cpu
from bench.stores import STORE_KINDS, fresh_store, postgres_problem
from infrastructure.settings import Settings

ISSUER = "https://issuer.bench.invalid"
AUDIENCE = "shipments-bench"
KID = "bench-rsa"


@contextmanager
def key_set_server(key_set: dict[str, Any]) -> Iterator[str]:
    """Serve ``key_set`` as a JWKS document on 127.0.0.1; yields its URL."""
    body = json.dumps(key_set).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/jwks"
    finally:
        server.shutdown()
        server.server_close()


@dataclass(frozen=True)
class Run:
    """One wrk run: its rate, and the server's CPU per request (steadier on a shared machine)."""

    rate: float
    cpu_micros: float


def wrk_run(pid: int, url: str, token: str, duration: int, connections: int) -> Run:
    """One wrk run of GETs of ``url`` with ``token`` against the server ``pid``."""
    before = process_tree_cpu(pid)
    output = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{duration}s",
            "-H",
            f"Authorization: Bearer {token}",
            url,
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    used = process_tree_cpu(pid) - before
    if "Non-2xx" in output:
        raise RuntimeError(f"wrk saw refusals:\n{output}")
    requests = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    return Run(rate, used / requests * 1e6)


def measure(store: str, directory: Path, rounds: int, duration: int, connections: int) -> None:
    """Print the median req/s of static-token and JWT GETs on one fresh server, and the ratio."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = {**RSAAlgorithm.to_jwk(private.public_key(), as_dict=True), "kid": KID, "use": "sig"}
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "bench", "roles": ["reader"]}
    access_token = jwt.encode(
        {**claims, "iat": now, "exp": now + 3600}, private, "RS256", headers={"kid": KID}
    )
    with (
        key_set_server({"keys": [jwk]}) as jwks_url,
        fresh_store(store, directory, "jwt_reads") as url,
    ):
        with configured_token_store(Settings(database_url=url)) as tokens:
            static = tokens.add("bench-static", "writer")
        environment = {
            "SHIPMENTS_OIDC_ISSUER": ISSUER,
            "SHIPMENTS_OIDC_JWKS_URL": jwks_url,
            "SHIPMENTS_OIDC_AUDIENCE": AUDIENCE,
            "SHIPMENTS_LOG_LEVEL": "warning",
        }
        with running_server("service", url, directory, extra_env=environment) as server:
            headers = {"Authorization": f"Bearer {static}"}
            created = httpx.post(
                f"{server.base_url}/v1/shipments", json=NEW_SHIPMENT, headers=headers
            ).json()
            target = f"{server.base_url}/v1/shipments/{created['id']}"
            runs: dict[str, list[Run]] = {"static": [], "jwt": []}
            pid = server.process.pid
            for _ in range(rounds):
                runs["static"].append(wrk_run(pid, target, static, duration, connections))
                runs["jwt"].append(wrk_run(pid, target, access_token, duration, connections))
    report(store, runs)


def report(store: str, runs: dict[str, list[Run]]) -> None:
    """Each kind's median rate and CPU per request, its runs, and the JWT/static ratios."""
    rate = {kind: statistics.median(run.rate for run in of) for kind, of in runs.items()}
    cpu = {kind: statistics.median(run.cpu_micros for run in of) for kind, of in runs.items()}
    for kind, of in runs.items():
        rates = ", ".join(f"{run.rate:.0f}" for run in of)
        print(
            f"jwt reads: {store:8} GET {kind:6}: median {rate[kind]:7.0f} req/s, "
            f"{cpu[kind]:5.0f} µs server CPU/request  (runs: {rates})"
        )
    print(
        f"jwt reads: {store:8} JWT/static: rate {rate['jwt'] / rate['static']:.3f}x, "
        f"CPU per request {cpu['jwt'] / cpu['static']:.3f}x",
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    """Command line: median req/s of JWT and static-token GETs, per store, and their ratio."""
    parser = argparse.ArgumentParser(prog="python -m bench.jwt_reads", description=__doc__)
    parser.add_argument("--stores", default=",".join(STORE_KINDS))
    parser.add_argument("--rounds", type=int, default=5, help="static/JWT pairs of runs")
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("-c", "--connections", type=int, default=16)
    arguments = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        print("jwt reads: wrk is not installed (bench/setup.sh)")
        return 1
    with tempfile.TemporaryDirectory(prefix="bench-jwt-reads-") as directory:
        for store in arguments.stores.split(","):
            if store == "postgres" and (problem := postgres_problem()) is not None:
                print(f"jwt reads: skipping postgres: {problem}")
                continue
            measure(
                store, Path(directory), arguments.rounds, arguments.duration, arguments.connections
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
