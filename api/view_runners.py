"""This process's projection runners: started with the app, stopped before the store closes.

Every server process starts one runner per view; the view's lock lets one of
them (across all processes and hosts) run it, and the others stand by.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from api.plumbing.request_metrics import ServiceMetrics, ViewReport
from api.wiring import Services
from infrastructure.settings import Settings
from projections.lag import projection_status
from projections.runner import ViewRunner, runner_for

_log = logging.getLogger("shipments.projections")


@dataclass
class ViewRunners:
    """The runners of one app (none when ``projection_runner`` is off)."""

    services: Services
    runners: list[ViewRunner]

    def reports(self) -> list[ViewReport]:
        """Each view's status for /metrics (none while the store cannot answer)."""
        active = {runner.name for runner in self.runners if runner.is_active}
        view = self.services.view
        try:
            status = projection_status(self.services.store, view)
        except Exception:  # noqa: BLE001 - a scrape must answer even when the store does not
            _log.warning("cannot read the projection status for /metrics", exc_info=True)
            return []
        return [ViewReport(status, view.tracking_name in active)]

    def stop(self) -> None:
        for runner in self.runners:
            runner.stop()


def start_view_runners(
    services: Services, settings: Settings, metrics: ServiceMetrics
) -> ViewRunners:
    """Start this process's runners (if enabled) and point the metrics at them."""
    runners: list[ViewRunner] = []
    if settings.projection_runner:
        view = services.view
        runner = runner_for(
            services.store, view, settings, metrics.observer_for(view.tracking_name)
        )
        runners.append(runner.start())
    started = ViewRunners(services, runners)
    metrics.report_views(started.reports)
    return started
