"""Drive a load with ``wrk`` and read back the figures its Lua ``done()`` prints."""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from pathlib import Path

from bench.load_results import LoadResult, LoadSpec

WRK_SCRIPT = Path(__file__).resolve().parent / "wrk" / "shipments.lua"
RESULT_PREFIX = "BENCH_JSON "
INSTALL_HINT = "install it with: sudo bash bench/setup.sh (apt-get install -y wrk)"


class WrkFailed(RuntimeError):
    """wrk exited badly or printed no figures."""


def wrk_path() -> str | None:
    """Where ``wrk`` is installed, or None."""
    return shutil.which("wrk")


def wrk_command(spec: LoadSpec, wrk: str = "wrk") -> list[str]:
    """The wrk command line for ``spec`` (threads never exceed connections)."""
    threads = max(1, min(spec.threads, spec.connections))
    return [
        wrk,
        "--latency",
        "--threads",
        str(threads),
        "--connections",
        str(spec.connections),
        "--duration",
        f"{spec.duration_s}s",
        "--timeout",
        "10s",
        "--script",
        str(WRK_SCRIPT),
        spec.base_url,
        "--",
        spec.method.lower(),
        str(spec.ids_file),
        str(threads),
        spec.headers.get("Authorization", ""),
        # Every run writes values no earlier run wrote: a PATCH that repeats a
        # previous run's body on the same shipment would be a no-op, not a write.
        uuid.uuid4().hex[:8],
    ]


def run_wrk(spec: LoadSpec) -> tuple[LoadResult, str]:
    """Run one load; returns the figures and wrk's own report (kept in the raw results)."""
    wrk = wrk_path()
    if wrk is None:
        raise WrkFailed(f"wrk is not installed; {INSTALL_HINT}")
    completed = subprocess.run(
        wrk_command(spec, wrk),
        capture_output=True,
        text=True,
        check=False,
        timeout=spec.duration_s + 120,
    )
    output = completed.stdout + completed.stderr
    lines = [line for line in completed.stdout.splitlines() if line.startswith(RESULT_PREFIX)]
    if completed.returncode != 0 or not lines:
        raise WrkFailed(f"wrk exited with {completed.returncode}:\n{output}")
    figures = json.loads(lines[-1][len(RESULT_PREFIX) :])
    duration_s = figures["duration_us"] / 1e6
    result = LoadResult(
        generator="wrk",
        requests=figures["requests"],
        duration_s=duration_s,
        requests_per_s=figures["requests"] / duration_s if duration_s else 0.0,
        p50_ms=figures["p50_us"] / 1000,
        p99_ms=figures["p99_us"] / 1000,
        non_2xx=figures["status_errors"],
        socket_errors=sum(
            figures[name] for name in ("connect_errors", "read_errors", "write_errors", "timeouts")
        ),
    )
    return result, output
