"""Merging two wrk processes' figures, and the command lines for one and two servers."""

from __future__ import annotations

import random
from pathlib import Path

from bench.load_results import LoadSpec
from bench.workloads import EXPECT_2XX, EXPECT_2XX_OR_412, EXPECT_412, expand_workloads
from bench.wrk_load import combine, histogram_quantile, merged_quantile, split, wrk_commands


def quantiles_of(values: list[float]) -> list[list[float]]:
    ordered = sorted(values)
    percents = [i / 2 for i in range(1, 196)] + [i / 10 for i in range(976, 1001)]
    return [[p, ordered[max(1, round(p / 100 * len(ordered) + 0.5)) - 1]] for p in percents]


def test_merged_quantiles_are_close_to_the_exact_ones() -> None:
    generator = random.Random(7)
    fast = [generator.uniform(1_000, 3_000) for _ in range(20_000)]
    slow = [generator.uniform(2_000, 40_000) for _ in range(5_000)]
    # wrk answers 0 for a percentile it cannot rank (e.g. 100): it must not count as fast.
    merged = [
        (len(fast), [*quantiles_of(fast), [100.0, 0.0]]),
        (len(slow), [*quantiles_of(slow), [100.0, 0.0]]),
    ]
    every = sorted(fast + slow)
    for q in (50, 99):
        exact = every[int(q / 100 * len(every))]
        assert abs(merged_quantile(merged, q) - exact) / exact < 0.03


def test_histogram_quantile_takes_the_first_value_reaching_the_rank() -> None:
    assert histogram_quantile({1.0: 50, 2.0: 49, 9.0: 1}, 50) == 1.0
    assert histogram_quantile({1.0: 50, 2.0: 49, 9.0: 1}, 99) == 2.0
    assert histogram_quantile({}, 99) == 0.0


def test_two_servers_get_half_the_clients_each_and_distinct_thread_ids() -> None:
    (rmw,) = expand_workloads(["rmw"], 32, 2, 100, 20)
    spec = LoadSpec(rmw, ("http://a", "http://b"), Path("ids"), 2, seed=1000)
    first, second = wrk_commands(spec, run_tag="t")
    assert first[first.index("--connections") + 1] == "16"
    assert first[first.index("--threads") + 1] == "16"
    assert "offset=0" in first and "offset=16" in second
    assert "partitions=32" in first and "quantiles=1" in first
    assert split(5, 2) == [2, 3]


def test_combine_adds_rates_counts_and_per_shipment_successes() -> None:
    def figures(requests: int, successes: dict[str, int]) -> dict[str, object]:
        return {
            "requests": requests,
            "duration_us": 2_000_000,
            "p50_us": 1000.0,
            "p99_us": 2000.0,
            "connect_errors": 0,
            "read_errors": 1,
            "write_errors": 0,
            "timeouts": 0,
            "statuses": {"ok": requests - 10, "s412": 10, "s5xx": 0, "other": 0},
            "successes": successes,
            "unknown": {"1.weight": 1},
            "conflicts": 10,
            "in_flight_at_end": 1,
            "parse_failures": 0,
            "update_ms_tenths": {"25": 3},
            "latency_quantiles_us": quantiles_of([1000.0, 2000.0]),
        }

    result = combine([figures(100, {"1.weight": 4}), figures(50, {"1.weight": 6})], True)
    assert result.requests_per_s == 75.0
    assert result.successes == 10 and result.successes_by_key == {"1.weight": 10}
    assert result.updates_per_s == 5.0 and result.conflicts_per_success == 2.0
    assert result.in_flight_at_end == 2 and result.unknown_outcomes == 0
    assert result.unknown_by_key == {"1.weight": 2}
    assert result.update_p50_ms == 2.5
    assert result.socket_errors == 2 and result.status_412 == 20
    assert result.errors(EXPECT_2XX_OR_412) == 2
    assert result.errors(EXPECT_2XX) == 22
    # A stale-write load expects only 412s: every 2xx is an error, no 412 is.
    assert result.errors(EXPECT_412) == 2 + result.status_2xx
