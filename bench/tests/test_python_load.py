"""The Python fallback generator drives the stale-write load as the wrk script does."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.python_load import main
from bench.tests.test_wrk_script import recording_server
from bench.workloads import EXPECT_412
from bench.wrk_load import RESULT_PREFIX, combine


def test_a_stale_write_names_each_shipment_with_the_tag_of_its_own_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = [f"00000000-0000-4000-8000-{n:012d}" for n in range(4)]
    tags = [f'"tag-of-{n}:1"' for n in range(4)]
    (tmp_path / "ids.txt").write_text("".join(f"{i}\n" for i in ids))
    (tmp_path / "tags.txt").write_text("".join(f"{t}\n" for t in tags))

    with recording_server() as (base_url, paths):
        main(
            [
                base_url,
                "patch-stale",
                str(tmp_path / "ids.txt"),
                "--tags",
                str(tmp_path / "tags.txt"),
                "--connections",
                "2",
                "--duration",
                "0.5",
            ]
        )

    assert set(paths) == {
        f"PATCH /v1/shipments/{i} If-Match {t}" for i, t in zip(ids, tags, strict=True)
    }
    (line,) = [x for x in capsys.readouterr().out.splitlines() if x.startswith(RESULT_PREFIX)]
    result = combine([json.loads(line[len(RESULT_PREFIX) :])], read_modify_write=False)
    assert result.status_412 == result.requests > 0
    assert result.errors(EXPECT_412) == 0
