"""The wrk script itself, run by wrk against a server that records what it is asked.

The script holds the ids as one string (see ``compact`` in ``bench/wrk/shipments.lua``);
these check that every request still names an id of the file, that the uniform
draw reaches all of them, that ids of unequal length are kept whole, and that the
stale-write load names each shipment with the tag of its own line.
"""

from __future__ import annotations

import json
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
from bench.workloads import EXPECT_412, expand_workloads
from bench.wrk_load import RESULT_PREFIX, combine, wrk_commands

pytestmark = pytest.mark.skipif(
    shutil.which("wrk") is None and os.environ.get("CI") != "true",
    reason="wrk is not installed (sudo bash bench/setup.sh); under CI=true it must be",
)


@contextmanager
def recording_server() -> Iterator[tuple[str, Counter[str]]]:
    """A server answering 200 with an ETag; the requests it was asked, counted.

    A PATCH whose If-Match names a tag (not ``*``) is answered 412, as a stale tag
    is, and counted with that tag: "PATCH <path> If-Match <tag>".
    """
    paths: Counter[str] = Counter()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            if_match = self.headers.get("If-Match")
            named = self.command == "PATCH" and if_match not in (None, "*")
            with lock:
                paths[f"{self.command} {self.path}{f' If-Match {if_match}' if named else ''}"] += 1
            body = b'{"weightLbs": 1}'
            self.send_response(412 if named else 200)
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


def run_script(
    mode: str, ids: list[str], tmp_path: Path, tags: list[str] | None = None
) -> tuple[Counter[str], dict[str, object]]:
    """Run the workload ``mode`` for 1 s; the requests counted, and the script's figures."""
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text("".join(f"{i}\n" for i in ids))
    tags_file = None
    if tags is not None:
        tags_file = tmp_path / "tags.txt"
        tags_file.write_text("".join(f"{t}\n" for t in tags))
    (workload,) = expand_workloads([mode], 2, 1, 100, 20, len(ids))
    with recording_server() as (base_url, paths):
        spec = LoadSpec(workload, (base_url,), ids_file, 1, seed=5, tags_file=tags_file)
        (command,) = wrk_commands(spec)
        completed = subprocess.run(command, check=True, capture_output=True, timeout=60, text=True)
    (line,) = [x for x in completed.stdout.splitlines() if x.startswith(RESULT_PREFIX)]
    return paths, json.loads(line[len(RESULT_PREFIX) :])


def test_every_get_names_an_id_of_the_file_and_the_draw_reaches_all_of_them(
    tmp_path: Path,
) -> None:
    ids = [f"00000000-0000-4000-8000-{n:012d}" for n in range(5)]

    paths, _ = run_script("get", ids, tmp_path)

    assert set(paths) == {f"GET /v1/shipments/{i}" for i in ids}


def test_ids_of_unequal_length_are_sent_whole(tmp_path: Path) -> None:
    ids = ["a", "bb", "ccc"]

    paths, _ = run_script("patch-uniform", ids, tmp_path)

    assert set(paths) == {f"PATCH /v1/shipments/{i}" for i in ids}


def test_a_stale_write_names_each_shipment_with_the_tag_of_its_own_line(
    tmp_path: Path,
) -> None:
    ids = [f"00000000-0000-4000-8000-{n:012d}" for n in range(4)]
    tags = [f'"tag-of-{n}:1"' for n in range(4)]

    paths, figures = run_script("patch-stale", ids, tmp_path, tags)

    assert set(paths) == {
        f"PATCH /v1/shipments/{i} If-Match {t}" for i, t in zip(ids, tags, strict=True)
    }
    result = combine([figures], read_modify_write=False)
    # Every answer was 412: the expected one, so no error.
    assert result.status_412 == result.requests > 0
    assert result.errors(EXPECT_412) == 0


def test_a_stale_write_refuses_a_tags_file_that_does_not_match_the_ids(tmp_path: Path) -> None:
    with pytest.raises(subprocess.CalledProcessError):
        run_script("patch-stale", ["a", "b"], tmp_path, ['"only-one"'])
