"""``make run`` installs what serving needs and nothing else, without build warnings.

The development tools (test runner, browser driver, fuzzer, linters, client
generator) are the ``dev`` extra; serving must work without any of them.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())

# Every package the service's code imports when it serves, as the CLI starts it.
SERVING = "import api.cli, api.cli.serve, api.http.app; api.http.app.create_app_from_env()"
# Refuses to import the development tools, as a runtime-only install would.
BLOCK_DEV_TOOLS = """
import importlib.abc, sys
DEV = {names!r}
class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in DEV:
            raise ModuleNotFoundError(f"{{name}} is a development tool")
sys.meta_path.insert(0, Refuse())
"""
DEV_MODULES = (
    "pytest",
    "ruff",
    "mypy",
    "schemathesis",
    "playwright",
    "openapi_python_client",
    "dateutil",
    "hypothesis",
    "standardwebhooks",  # the receivers' side, in the tests
    "httpx",  # the tests' client
    "aiohttp",  # the tests' and benchmarks' receivers (the deliverers send with httptools)
)


def requirement_names(requirements: list[str]) -> set[str]:
    return {r.split("[")[0].split(">")[0].split("=")[0].split("<")[0].strip() for r in requirements}


def test_serving_imports_no_development_tool(tmp_path: Path) -> None:
    script = BLOCK_DEV_TOOLS.format(names=set(DEV_MODULES)) + SERVING
    env = {"SHIPMENTS_DATABASE_URL": f"sqlite:///{tmp_path}/s.db", "PATH": ""}
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def test_the_development_tools_are_an_extra_that_make_run_does_not_install() -> None:
    runtime = requirement_names(PYPROJECT["project"]["dependencies"])
    dev = requirement_names(PYPROJECT["project"]["optional-dependencies"]["dev"])
    assert {"pytest", "playwright", "schemathesis", "mypy", "ruff"} <= dev
    assert not runtime & dev
    makefile = (ROOT / "Makefile").read_text()
    run_target = next(line for line in makefile.splitlines() if line.startswith("run:"))
    assert run_target == "run: $(RUNTIME_STAMP)"
    assert "$(BIN)/pip install --quiet -e .\n" in makefile


def test_the_licence_is_an_spdx_expression_as_setuptools_asks() -> None:
    assert PYPROJECT["project"]["license"] == "MIT"
    assert "setuptools>=77" in PYPROJECT["build-system"]["requires"]
