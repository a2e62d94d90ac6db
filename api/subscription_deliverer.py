"""This process's log follower and deliverer: started with the app, stopped before the store.

The follower feeds the SSE streams and the deliverer from memory; the deliverer
delivers every subscription this process can lease (one process per subscription
across all of them).
"""

from __future__ import annotations

from api.plumbing.delivery_metrics import DeliveryMetrics, SubscriptionsReport
from api.wiring import Services
from infrastructure.delivery.deliverer import Deliverer
from infrastructure.delivery.nats_sender import NatsSender
from infrastructure.delivery.observation import ignore_attempt
from infrastructure.delivery.retry_schedule import RetrySchedule
from infrastructure.delivery.sending import Senders
from infrastructure.delivery.subscription_delivery import DeliveryRules
from infrastructure.delivery.webhook_sender import WebhookSender
from infrastructure.log_follower import LogFollower
from infrastructure.settings import Settings
from projections.delivery_messages import FeedMessages


def senders_for(settings: Settings) -> Senders:
    """A sender per scheme, with the settings' time-out and address rule."""
    webhook = WebhookSender(settings.webhook_timeout, allow_private=settings.webhook_allow_private)
    nats = NatsSender(settings.webhook_timeout, allow_private=settings.webhook_allow_private)
    return Senders({"http": webhook, "https": webhook, "nats": nats})


def delivery_rules(settings: Settings) -> DeliveryRules:
    return DeliveryRules(
        schedule=RetrySchedule.parse(settings.webhook_retry_schedule),
        lease_seconds=settings.webhook_lease_seconds,
    )


def start_deliverer(
    services: Services,
    settings: Settings,
    follower: LogFollower | None,
    metrics: DeliveryMetrics | None = None,
    schemes: frozenset[str] | None = None,
) -> Deliverer | None:
    """This process's deliverer, started (None when switched off), its figures in ``metrics``.

    ``schemes``: deliver only subscriptions with these URL schemes (None: all).
    """
    deliverer = None
    if settings.deliverer:
        deliverer = Deliverer(
            services.subscriptions.subscriptions,
            FeedMessages(services.store, follower),
            lambda: senders_for(settings),
            delivery_rules(settings),
            observe=metrics.observe_attempt if metrics is not None else ignore_attempt,
            schemes=schemes,
        ).start()
    if metrics is not None:
        metrics.report_subscriptions(lambda: subscriptions_report(services, deliverer))
    return deliverer


def subscriptions_report(services: Services, deliverer: Deliverer | None) -> SubscriptionsReport:
    """The subscriptions as stored now, the head, and those this process delivers."""
    administration = services.subscriptions
    return SubscriptionsReport(
        subscriptions=administration.subscriptions.all(),
        head=administration.head(),
        delivering_here=frozenset(
            str(key) for key in (deliverer.delivering if deliverer is not None else ())
        ),
    )
