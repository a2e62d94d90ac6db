"""The wrk script itself, run by wrk against a server that records what it is asked.

The script holds the ids as one string (see ``compact`` in ``bench/wrk/shipments.lua``);
these check that every request still names an id of the file, that the uniform
draw reaches all of them, and that ids of unequal length are kept whole.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bench.load_results import LoadSpec
from bench.workloads import expand_workloads
from bench.wrk_load import wrk_commands

pytestmark = pytest.mark.skipif(
    shutil.which("wrk") is None and os.environ.get("CI") != "true",
    reason="wrk is not installed (sudo bash bench/setup.sh); under CI=true it must be",
)


@contextmanager
def recording_server() -> Iterator[tuple[str, Counter[str]]]:
    """A server answering every request 200 with an ETag; the paths it was asked, counted."""
    paths: Counter[str] = Counter()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            with lock:
                paths[f"{self.command} {self.path}"] += 1
            body = b'{"weightLbs": 1}'
            self.send_response(200)
            self.send_header("ETag", '"x"')
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = _answer
        do_PATCH = _answer

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", paths
    finally:
        server.shutdown()
        server.server_close()


def run_script(mode: str, ids: list[str], tmp_path: Path) -> Counter[str]:
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text("".join(f"{i}\n" for i in ids))
    (workload,) = expand_workloads([mode], 2, 1, 100, 20)
    with recording_server() as (base_url, paths):
        (command,) = wrk_commands(LoadSpec(workload, (base_url,), ids_file, 1, seed=5))
        subprocess.run(command, check=True, capture_output=True, timeout=60)
    return paths


def test_every_get_names_an_id_of_the_file_and_the_draw_reaches_all_of_them(
    tmp_path: Path,
) -> None:
    ids = [f"00000000-0000-4000-8000-{n:012d}" for n in range(5)]

    paths = run_script("get", ids, tmp_path)

    assert set(paths) == {f"GET /v1/shipments/{i}" for i in ids}


def test_ids_of_unequal_length_are_sent_whole(tmp_path: Path) -> None:
    ids = ["a", "bb", "ccc"]

    paths = run_script("patch-uniform", ids, tmp_path)

    assert set(paths) == {f"PATCH /v1/shipments/{i}" for i in ids}
