"""Push delivery in the service's metrics: attempts, their lag, and each subscription's state.

Attempts are counted by the process that makes them (its deliverer's observer);
the subscriptions' positions, lag and status are read from the store when
scraped, so every process shows the same figures whichever one delivers, and
``shipments_subscription_delivering_here`` says which one does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from infrastructure.delivery.observation import AttemptObserved
from infrastructure.delivery.subscriptions import Subscription, SubscriptionStatus

ATTEMPT_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
DELIVERY_LAG_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 30.0, 300.0)


@dataclass(frozen=True)
class SubscriptionsReport:
    """What a scrape shows of the subscriptions: as stored, the head, and who delivers here."""

    subscriptions: Sequence[Subscription]
    head: int
    delivering_here: frozenset[str]  # subscription ids (as text)


class DeliveryMetrics:
    """Delivery counters and histograms, and the subscription gauges, in one registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.attempts = Counter(
            "shipments_delivery_attempts",
            "Attempts to deliver a message, by destination scheme and outcome.",
            ["scheme", "outcome"],
            registry=registry,
        )
        self.attempt_seconds = Histogram(
            "shipments_delivery_attempt_duration_seconds",
            "Time from sending a message to its destination's answer, by scheme.",
            ["scheme"],
            buckets=ATTEMPT_BUCKETS,
            registry=registry,
        )
        self.lag = Histogram(
            "shipments_delivery_lag_seconds",
            "From an event's recording to its destination's acknowledgement, by scheme.",
            ["scheme"],
            buckets=DELIVERY_LAG_BUCKETS,
            registry=registry,
        )
        self._subscriptions = _SubscriptionCollector()
        registry.register(self._subscriptions)

    def observe_attempt(self, attempt: AttemptObserved) -> None:
        """The deliverer's observer (called on its own thread; the metrics are thread-safe)."""
        outcome = "delivered" if attempt.delivered else "failed"
        self.attempts.labels(attempt.scheme, outcome).inc()
        self.attempt_seconds.labels(attempt.scheme).observe(attempt.seconds)
        if attempt.lag_seconds is not None:
            self.lag.labels(attempt.scheme).observe(max(0.0, attempt.lag_seconds))

    def report_subscriptions(self, report: Callable[[], SubscriptionsReport]) -> None:
        """Where the subscription gauges come from (set once the store is connected)."""
        self._subscriptions.report = report


class _SubscriptionCollector(Collector):
    """Subscription gauges, read when scraped."""

    def __init__(self) -> None:
        self.report: Callable[[], SubscriptionsReport] | None = None

    def collect(self) -> Iterator[Metric]:
        labels = ["subscription"]
        position = GaugeMetricFamily(
            "shipments_subscription_position",
            "Last feed position delivered (or skipped by type).",
            labels=labels,
        )
        lag = GaugeMetricFamily(
            "shipments_subscription_lag_events", "Feed positions not delivered yet.", labels=labels
        )
        status = GaugeMetricFamily(
            "shipments_subscription_status",
            "1 for the subscription's status (active, failing or disabled), else 0.",
            labels=[*labels, "status"],
        )
        here = GaugeMetricFamily(
            "shipments_subscription_delivering_here",
            "1 if this process delivers the subscription now.",
            labels=labels,
        )
        if self.report is not None:
            report = self.report()
            for subscription in report.subscriptions:
                key = [str(subscription.id)]
                position.add_metric(key, subscription.position)
                lag.add_metric(key, max(0, report.head - subscription.position))
                for each in SubscriptionStatus:
                    status.add_metric([*key, each.value], 1 if subscription.status is each else 0)
                here.add_metric(key, 1 if key[0] in report.delivering_here else 0)
        yield from (position, lag, status, here)

    def describe(self) -> Iterator[Metric]:
        return iter(())
