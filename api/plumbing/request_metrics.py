"""The service's Prometheus metrics: requests by route and status, projection lag, delivery.

One registry per app (never the library's global one), so two apps in one
process (as in tests) never mix their counts. Each worker process counts its
own requests; the projection figures are read from the store at scrape time,
so every process reports the same lag whichever one runs the view.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from api.plumbing.delivery_metrics import DeliveryMetrics
from api.plumbing.request_observer import ObservedRequest
from projections.lag import ProjectionStatus

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
LAG_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0, 30.0, 120.0)


@dataclass(frozen=True)
class ViewReport:
    """What a scrape shows of one view: its status, and whether this process runs it."""

    status: ProjectionStatus
    runs_here: bool


ViewReports = Callable[[], Sequence[ViewReport]]


class ServiceMetrics:
    """The metrics of one app and the registry they are exposed from."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "shipments_http_requests",
            "HTTP requests answered, by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "shipments_http_request_duration_seconds",
            "Time to answer an HTTP request, by method, route template and status.",
            ["method", "route", "status"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.event_lag = Histogram(
            "shipments_projection_event_lag_seconds",
            "From the oldest event of a runner's batch being recorded to the runner committing "
            "the batch (one observation per batch; runner in this process).",
            ["view"],
            buckets=LAG_BUCKETS,
            registry=self.registry,
        )
        self._views = _ViewCollector()
        self.registry.register(self._views)
        self.delivery = DeliveryMetrics(self.registry)

    def observe_request(self, request: ObservedRequest) -> None:
        """Count and time one request under its route template (never its raw path)."""
        labels = (request.method, request.route or "unmatched", str(request.status))
        self.requests.labels(*labels).inc()
        self.latency.labels(*labels).observe(request.seconds)

    def report_views(self, reports: ViewReports) -> None:
        """Where the projection gauges come from (set once the store is connected)."""
        self._views.reports = reports

    def observer_for(self, view: str) -> Callable[[float], None]:
        """A callback a runner calls with each batch's lag (that of its oldest event)."""
        return self.event_lag.labels(view=view).observe

    def render(self) -> bytes:
        """The Prometheus text exposition of everything."""
        return generate_latest(self.registry)


class _ViewCollector(Collector):
    """Projection gauges, read when scraped."""

    def __init__(self) -> None:
        self.reports: ViewReports | None = None

    def collect(self) -> Iterator[Metric]:
        reports = self.reports() if self.reports is not None else []
        gauges = {
            "position": GaugeMetricFamily(
                "shipments_projection_position", "Last event position applied.", labels=["view"]
            ),
            "head": GaugeMetricFamily(
                "shipments_projection_head", "Last event position in the store.", labels=["view"]
            ),
            "lag_events": GaugeMetricFamily(
                "shipments_projection_lag_events",
                "Event positions the view has not applied yet.",
                labels=["view"],
            ),
            "lag_seconds": GaugeMetricFamily(
                "shipments_projection_lag_seconds",
                "Age of the oldest event the view has not applied (0: caught up).",
                labels=["view"],
            ),
            "active": GaugeMetricFamily(
                "shipments_projection_runner_active",
                "1 if this process runs the view, 0 if it stands by.",
                labels=["view"],
            ),
        }
        for report in reports:
            status = report.status
            labels = [status.view]
            gauges["position"].add_metric(labels, status.position)
            gauges["head"].add_metric(labels, status.head)
            gauges["lag_events"].add_metric(labels, status.lag_events)
            gauges["lag_seconds"].add_metric(labels, status.lag_seconds)
            gauges["active"].add_metric(labels, 1 if report.runs_here else 0)
        yield from gauges.values()

    def describe(self) -> Iterator[Metric]:
        return iter(())
