"""A TypeScript client generated the way most frontend teams would just works.

openapi-typescript, with its default options, turns ``docs/openapi.json`` into
types; openapi-fetch calls the API with them; ``tsc --strict`` checks
``ts-client/src/flow.ts`` (no cast, no ``any``), which then runs the whole flow
against a live ``shipments serve``: create, read, PATCH, a stale 412 read by its
typed problem, the merge retry, a 409 by its typed problem, history and the list.

The packages are pinned in ``ts-client/package-lock.json`` and installed with
``npm ci`` into a temporary folder at test time. Without Node or npm's registry
the test skips with the reason, except under ``CI=true``, where it fails.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.cli.tokens import configured_token_store
from infrastructure.settings import Settings
from tests.support.servers import running_server

PROJECT = Path(__file__).resolve().parent / "ts-client"
DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
# A type assertion or an escape from the type system would hide what the types get wrong.
ESCAPES = re.compile(r"\bas\s+(?!const\b)\w+|<any>|:\s*any\b|@ts-(?:ignore|expect-error|nocheck)")
# What is not code: comments and string literals.
PROSE = re.compile(r"//[^\n]*|\"[^\"\n]*\"|`[^`]*`")


def unavailable(reason: str) -> None:
    """Skip, or under CI fail, when the TypeScript toolchain cannot be had."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"CI=true requires the TypeScript client check: {reason}")
    pytest.skip(reason)


def run(command: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command,
        cwd=cwd,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def toolchain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The pinned packages, installed with ``npm ci`` beside a copy of the project."""
    npm = shutil.which("npm")
    if shutil.which("node") is None or npm is None:
        unavailable("Node.js and npm are not installed")
    folder = tmp_path_factory.mktemp("ts-client")
    for name in ("package.json", "package-lock.json", "tsconfig.json"):
        shutil.copy(PROJECT / name, folder / name)
    shutil.copytree(PROJECT / "src", folder / "src")
    installed = run([str(npm), "ci", "--no-audit", "--no-fund", "--prefer-offline"], folder)
    if installed.returncode != 0:
        unavailable(f"npm ci could not install the pinned packages: {installed.stderr[-800:]}")
    yield folder


def test_the_flow_uses_no_cast_and_no_any() -> None:
    code = PROSE.sub("", (PROJECT / "src" / "flow.ts").read_text())
    assert ESCAPES.findall(code) == []


@pytest.mark.slow
def test_a_typescript_client_generated_with_defaults_type_checks_and_runs_the_flow(
    toolchain: Path, tmp_path: Path
) -> None:
    binaries = toolchain / "node_modules" / ".bin"
    generated = run(
        [str(binaries / "openapi-typescript"), str(DOCUMENT), "-o", "src/schema.d.ts"], toolchain
    )
    assert generated.returncode == 0, generated.stderr
    checked = run([str(binaries / "tsc"), "-p", ".", "--strict"], toolchain)
    assert checked.returncode == 0, checked.stdout + checked.stderr

    database_url = f"sqlite:///{tmp_path}/ts-client.db"
    with configured_token_store(Settings(database_url=database_url)) as tokens:
        token = tokens.add("typescript-client", "writer")
    with running_server(database_url, tmp_path) as server:
        flow = run(
            ["node", "out/flow.js"],
            toolchain,
            SHIPMENTS_BASE_URL=server.base_url,
            SHIPMENTS_TOKEN=token,
        )
    assert flow.returncode == 0, flow.stdout + flow.stderr
    assert "typescript client flow: ok" in flow.stdout
