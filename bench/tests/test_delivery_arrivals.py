"""How the delivery benchmark judges what its receivers saw."""

from __future__ import annotations

from bench.delivery_arrivals import completeness, first_lags_ms, percentile


def test_every_position_in_feed_order_on_every_path_is_complete_even_with_duplicates() -> None:
    arrivals = [("/a", 1, 1.0, 0.9), ("/a", 2, 1.1, 1.0), ("/a", 2, 1.2, 1.0), ("/b", 1, 1.0, 0.9)]
    arrivals.append(("/b", 2, 1.3, 1.0))

    judged = completeness(arrivals, ["/a", "/b"], [1, 2])

    assert judged.complete
    assert judged.duplicates == 1


def test_a_missing_position_or_a_later_one_first_is_incomplete() -> None:
    arrivals = [("/a", 2, 1.0, 0.9), ("/a", 1, 1.1, 1.0), ("/b", 1, 1.0, 0.9)]

    judged = completeness(arrivals, ["/a", "/b"], [1, 2])

    assert not judged.complete
    assert (judged.missing, judged.out_of_order) == (1, 1)


def test_lags_count_the_first_arrival_of_each_delivery_only() -> None:
    lags = first_lags_ms([("/a", 1, 1.5, 1.0), ("/a", 1, 9.0, 1.0), ("/a", 2, 1.25, 1.0)])

    assert lags == [500.0, 250.0]
    assert percentile(lags, 0.99) == 500.0
