"""The cost columns: medians of the runs' CPU figures and the service / baseline ratios."""

from __future__ import annotations

from bench.cpu_cost import CpuCost
from bench.load_results import LoadResult, Measurement, median_of
from bench.report import cost_table, error_notes
from bench.workloads import EXPECT_2XX, EXPECT_412, expand_workloads

(GET,) = expand_workloads(["get"], 32, 2, 100, 20)
(STALE,) = expand_workloads(["patch-stale"], 32, 2, 100, 20, 200)


def result(
    requests_per_s: float,
    server_us: float | None,
    postgres_us: float | None,
    idle: float,
    status_2xx: int = 1000,
    status_412: int = 0,
) -> LoadResult:
    cpu = CpuCost(
        window_s=1.0,
        requests=1000,
        server_cpu_s=0.0,
        postgres_cpu_s=0.0,
        postgres_all_cpu_s=0.0,
        generator_cpu_s=0.0,
        idle_percent=idle,
        others_percent=0.0,
        server_us_per_request=server_us,
        postgres_us_per_request=postgres_us,
    )
    return LoadResult(
        generator="wrk",
        requests=status_2xx + status_412,
        duration_s=1.0,
        requests_per_s=requests_per_s,
        p50_ms=1.0,
        p99_ms=2.0,
        status_2xx=status_2xx,
        status_412=status_412,
        status_5xx=0,
        status_other=0,
        socket_errors=0,
        cpu=cpu,
    )


def measurement(
    system: str, store: str, workload_result: LoadResult, stale: bool = False
) -> Measurement:
    return Measurement(
        store=store,
        system=system,
        shape="2servers",
        workload=STALE if stale else GET,
        repetition=0,
        seed=1,
        result=workload_result,
        load_average_1m=1.0,
        generator_output="",
    )


def test_cpu_figures_are_the_medians_of_the_runs_that_measured_them() -> None:
    runs = [
        result(100, 300.0, 90.0, 10.0),
        result(100, 500.0, 70.0, 30.0),
        result(100, 400.0, 80.0, 20.0),
        result(100, None, None, 0.0),  # no request completed: no per-request figure
    ]

    median = median_of(runs, EXPECT_2XX)

    assert median.server_us_per_request == 400.0
    assert median.postgres_us_per_request == 80.0
    assert median.idle_percent == 15.0  # over all four runs' idle shares


def test_the_cost_table_divides_service_by_baseline_per_request() -> None:
    measurements = [
        measurement("service", "postgres", result(6000, 200.0, 50.0, 5.0)),
        measurement("baseline", "postgres", result(3000, 400.0, 100.0, 1.0)),
    ]

    (row,) = cost_table(measurements).splitlines()[2:]

    assert row == (
        "| postgres | GET uniform -c32 | two servers, one database "
        "| 6,000 | 200 | 50 | 5% | 3,000 | 400 | 100 | 1% | 2.00x | 0.50x | 0.50x |"
    )


def test_sqlite_rows_leave_the_postgres_columns_empty() -> None:
    measurements = [
        measurement("service", "sqlite", result(6000, 300.0, 7.0, 5.0)),
        measurement("baseline", "sqlite", result(3000, 200.0, 9.0, 1.0)),
    ]

    (row,) = cost_table(measurements).splitlines()[2:]

    assert row.endswith("| 6,000 | 300 | - | 5% | 3,000 | 200 | - | 1% | 2.00x | 1.50x | - |")


def test_a_stale_write_answered_2xx_is_an_error_and_412_is_not() -> None:
    answered = result(1000, 100.0, 10.0, 0.0, status_2xx=3, status_412=997)

    median = median_of([answered], EXPECT_412)

    assert median.errors == 3 and median.unexpected_2xx == 3 and median.unexpected_412 == 0
    (note,) = error_notes([measurement("service", "postgres", answered, stale=True)])
    assert "3 2xx (a stale If-Match must be 412)" in note
    assert "other" not in note
