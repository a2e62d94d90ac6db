"""Which load generator drives the HTTP loads: wrk when it is there, else Python.

wrk (C, epoll, Lua-scripted) is preferred: it costs the shared CPU far less
than a Python client, so the server's figures are less distorted. When it is
missing the benchmark installs it (as root, via ``bench/setup.sh``) or says how,
and ``auto`` falls back to the asyncio/httpx generator in its own process.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from bench.load_results import LoadResult, LoadSpec
from bench.python_load import run_python_load
from bench.wrk_load import INSTALL_HINT, run_wrk, wrk_path

SETUP_SCRIPT = Path(__file__).resolve().parent / "setup.sh"
GENERATORS = ("auto", "wrk", "python")


class NoGenerator(RuntimeError):
    """wrk was asked for and cannot be had."""


def choose_generator(requested: str, install: bool = True) -> str:
    """Resolve ``auto`` to ``wrk`` or ``python``, installing wrk when possible."""
    if requested == "python":
        return "python"
    if wrk_path() is None and install:
        _try_install_wrk()
    if wrk_path() is not None:
        return "wrk"
    if requested == "wrk":
        raise NoGenerator(f"wrk is not installed; {INSTALL_HINT}")
    print(
        f"bench: wrk is not installed ({INSTALL_HINT}); falling back to the Python "
        "generator, whose figures are a lower bound on the servers' capacity"
    )
    return "python"


def run_load(generator: str, spec: LoadSpec) -> tuple[LoadResult, str]:
    """One load run with the chosen generator; returns figures and the generator's report."""
    if generator == "wrk":
        return run_wrk(spec)
    return run_python_load(spec)


def _try_install_wrk() -> None:
    """Run bench/setup.sh when we are root and apt-get exists (never prompts for sudo)."""
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return
    print("bench: wrk is missing; installing it with bench/setup.sh (apt-get install wrk)")
    completed = subprocess.run(
        ["bash", str(SETUP_SCRIPT)], capture_output=True, text=True, check=False, timeout=600
    )
    if completed.returncode != 0:
        print(f"bench: installing wrk failed:\n{completed.stdout}{completed.stderr}")
