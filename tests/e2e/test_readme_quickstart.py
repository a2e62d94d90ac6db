"""The README's "Using it" block runs as written against a served store.

A newcomer's first commands are the ones the README shows; a quickstart that
has drifted from the API is the first stumble of their first hour.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.servers import running_server

README = Path(__file__).resolve().parents[2] / "README.md"


def quickstart() -> str:
    """The first ``sh`` block after the "Using it" heading."""
    text = README.read_text()
    section = text[text.index("## Using it") :]
    found = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert found is not None
    return found.group(1)


@pytest.mark.slow
def test_the_readme_quickstart_runs_as_written(tmp_path: Path) -> None:
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    with running_server(f"sqlite:///{tmp_path}/readme.db", tmp_path) as server:
        host = server.base_url.removeprefix("http://")
        script = "set -eu\n" + quickstart().replace("localhost:8000", host)
        done = subprocess.run(
            ["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True, check=False
        )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert '"version":1' in out and "\n304\n" in out and '"version":2' in out
    assert '"type":"/problems/version-conflict"' in out and '"changesSince":[' in out
    assert '"items":[' in out and '"/docs"' in out
