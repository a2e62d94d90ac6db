"""The scale benchmark's own steps: what it parses, and the vacuum that ends a fill."""

from __future__ import annotations

import psycopg
import pytest

from api.wiring import build_services
from bench.scale import parse_arguments, vacuum_schema
from infrastructure.settings import Settings
from tests.support.stores import POSTGRES_ADMIN_URL, postgres_schema_url


def test_replay_workers_can_be_left_out_to_skip_verify_and_rebuild() -> None:
    assert parse_arguments(["--replay-workers="]).replay_workers == []
    assert parse_arguments(["--replay-workers", "1,2"]).replay_workers == [1, 2]


def test_loads_run_in_every_deployment_shape_with_collisions_by_default() -> None:
    arguments = parse_arguments([])

    assert [shape.name for shape in arguments.shapes] == ["1w", "2w", "2servers"]
    assert [workload.name for workload in arguments.workloads] == [
        "get",
        "patch-uniform",
        "patch-hot",
        "rmw",
    ]


def test_shapes_and_workloads_can_be_narrowed_and_unknown_names_are_refused(
    capsys: pytest.CaptureFixture[str],
) -> None:
    arguments = parse_arguments(["--shapes", "2servers", "--workloads", "get"])
    assert [shape.name for shape in arguments.shapes] == ["2servers"]
    assert [workload.name for workload in arguments.workloads] == ["get"]

    with pytest.raises(SystemExit):
        parse_arguments(["--shapes", "3w"])
    assert "unknown shape '3w'" in capsys.readouterr().err


@pytest.mark.postgres
def test_a_filled_schema_is_vacuumed_and_analysed_table_by_table() -> None:
    with postgres_schema_url() as url:
        build_services(Settings(database_url=url, projection_runner=False)).close()
        schema = url.split("?schema=")[1]

        vacuum_schema(POSTGRES_ADMIN_URL, schema)

        with psycopg.connect(POSTGRES_ADMIN_URL) as conn:
            rows = conn.execute(
                "SELECT relname, last_vacuum IS NOT NULL, last_analyze IS NOT NULL "
                "FROM pg_stat_user_tables WHERE schemaname = %s",
                (schema,),
            ).fetchall()
    assert {name for name, _, _ in rows} >= {"shipmentstore_events", "shipment_view"}
    assert all(vacuumed and analysed for _, vacuumed, analysed in rows)
