"""``st run --checks all`` against a real server with authentication on, as a new user runs it.

Every phase (examples, coverage, fuzzing, stateful) over every operation, with an
admin token: no 5xx, every answer as documented, schema-violating requests
refused, and schema-valid requests accepted except for the inherent refusals
listed in ``tests/fuzz/inherent_refusals.py``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from api.cli.tokens import configured_token_store
from infrastructure.settings import Settings
from tests.support.servers import REPO_ROOT, running_server

EXAMPLES_PER_OPERATION = 30
# Preconditions are judged before the content (RFC 9110), so a request with an
# invalid body and a stale or missing tag is rightly 412 or 428; a method the
# resource lacks is 405; state decides 404 and 409; too big is 413; wrong type 415.
REJECTIONS = [400, 401, 403, 404, 405, 406, 409, 412, 413, 415, 422, 428]

CONFIG = """
[auth.openapi.HTTPBearer]
bearer = "{token}"

[generation]
deterministic = true

[checks.negative_data_rejection]
expected-statuses = {rejections}

# A write without its required If-Match is 428 Precondition Required (RFC 6585), after the
# 404 of an unknown shipment.
[checks.missing_required_header]
expected-statuses = [400, 401, 403, 404, 406, 415, 422, 428]

# The live feed is held open by design; follow=false ends each answer once caught up.
[[operations]]
include-path = "/v1/events/stream"
parameters = {{ "query.follow" = false }}
"""


def schemathesis_command() -> list[str]:
    script = Path(sys.executable).with_name("st")
    return [str(script)] if script.exists() else [sys.executable, "-m", "schemathesis.cli"]


@pytest.mark.slow
def test_schemathesis_finds_nothing_with_all_checks_and_an_admin_token(tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path}/fuzz.db"
    with configured_token_store(Settings(database_url=database_url)) as tokens:
        admin = tokens.add("fuzz-admin", "admin")
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG.format(token=admin, rejections=REJECTIONS))
    with running_server(database_url, tmp_path) as server:
        result = subprocess.run(
            [
                *schemathesis_command(),
                "--config-file",
                str(config),
                "run",
                f"{server.base_url}/openapi.json",
                "--checks",
                "all",
                # Replaced by the hooks' check, which knows the inherent refusals.
                "--exclude-checks",
                "positive_data_acceptance",
                "--max-examples",
                str(EXAMPLES_PER_OPERATION),
                "--workers",
                "1",
                "--no-color",
            ],
            env={
                **os.environ,
                "SCHEMATHESIS_HOOKS": "tests.fuzz.inherent_refusals",
                "PYTHONPATH": str(REPO_ROOT),
            },
            cwd=tmp_path,  # where schemathesis keeps its cache
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-20000:]
    assert "Tested: 21" in output, output[-5000:]  # every operation, erasure and subscriptions too
