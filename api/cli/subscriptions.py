"""``shipments subscriptions list|add|enable|rewind|remove``: push delivery from the shell.

Each action calls the same ``SubscriptionAdministration`` as ``/v1/subscriptions``
(URL checks, starting position, re-enabling), on the configured store. ``add``
prints the signing secret once, alone on the last line of stdout.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID

from api.http.subscription_schemas import instant
from infrastructure.delivery.administration import SubscriptionAdministration
from infrastructure.delivery.destinations import RefusedDestination
from infrastructure.delivery.subscriptions import (
    SubscriptionChanges,
    SubscriptionNotFound,
    SubscriptionStatus,
)
from infrastructure.errors import StoreUnavailable
from infrastructure.settings import Settings


def register(commands: Any) -> None:
    """Add the ``subscriptions`` sub-command and its actions."""
    parser = commands.add_parser(
        "subscriptions",
        help="list, add, enable, rewind or remove push subscriptions",
        description="Subscriptions push the change feed to a webhook (Standard Webhooks "
        "signatures) or a NATS JetStream subject, as the admin routes /v1/subscriptions do; "
        "the running servers deliver them.",
    )
    actions = parser.add_subparsers(dest="action", required=True)
    actions.add_parser(
        "list",
        help="every subscription: status, position, lag",
        description="Prints each subscription's id, status, position, lag and last error.",
    ).set_defaults(run=_guarded(run_list))
    add = actions.add_parser(
        "add",
        help="subscribe a URL (https://… or nats://host/subject)",
        description="Adds a subscription and prints its signing secret, once.",
    )
    add.add_argument("url", metavar="URL", help="https://… for a webhook, nats://host:port/subject")
    add.add_argument("--types", help="comma-separated, e.g. shipment.created (default: all)")
    add.add_argument("--description", help="a note for people (default: none)")
    add.add_argument("--after", type=int, help="feed position to start after (default: head)")
    add.set_defaults(run=_guarded(run_add))
    enable = actions.add_parser(
        "enable",
        help="re-enable: resume at the event that failed",
        description="Re-enables a disabled subscription; delivery resumes where it stopped.",
    )
    enable.add_argument("id", metavar="ID", type=UUID, help="the subscription's id")
    enable.set_defaults(run=_guarded(run_enable))
    rewind = actions.add_parser(
        "rewind",
        help="deliver again (or skip) from a feed position",
        description="Moves a subscription's position: lower to deliver again, higher to skip.",
    )
    rewind.add_argument("id", metavar="ID", type=UUID, help="the subscription's id")
    rewind.add_argument(
        "position", metavar="POSITION", type=int, help="the feed position delivered last"
    )
    rewind.set_defaults(run=_guarded(run_rewind))
    remove = actions.add_parser(
        "remove",
        help="stop delivering and forget it",
        description="Deletes a subscription: nothing more is delivered to it.",
    )
    remove.add_argument("id", metavar="ID", type=UUID, help="the subscription's id")
    remove.set_defaults(run=_guarded(run_remove))


@contextmanager
def administration() -> Iterator[SubscriptionAdministration]:
    """The subscriptions of the configured store."""
    from api.wiring import build_services

    services = build_services(Settings())
    try:
        yield services.subscriptions
    finally:
        services.close()


def run_list(arguments: argparse.Namespace) -> int:
    with administration() as admin:
        subscriptions = admin.subscriptions.all()
        head = admin.head()
    if not subscriptions:
        print("no subscriptions")
        return 0
    print(f"{'ID':<36}  {'STATUS':<8}  {'POSITION':>8}  {'LAG':>6}  URL  LAST ERROR")
    for s in subscriptions:
        error = "" if s.last_error is None else f"{s.last_error} ({instant(s.last_attempt_at)})"
        lag = max(0, head - s.position)
        print(f"{s.id!s:<36}  {s.status.value:<8}  {s.position:>8}  {lag:>6}  {s.url}  {error}")
    return 0


def run_add(arguments: argparse.Namespace) -> int:
    types = [t.strip() for t in (arguments.types or "").split(",") if t.strip()]
    with administration() as admin:
        made = admin.add(arguments.url, types, arguments.description, arguments.after)
    print(f"subscription {made.id} delivers after position {made.position} to {made.url}")
    print("Its signing secret, shown only this once:")
    print(made.secret)
    return 0


def run_enable(arguments: argparse.Namespace) -> int:
    return _change(arguments.id, SubscriptionChanges(status=SubscriptionStatus.ACTIVE))


def run_rewind(arguments: argparse.Namespace) -> int:
    return _change(arguments.id, SubscriptionChanges(position=arguments.position))


def run_remove(arguments: argparse.Namespace) -> int:
    with administration() as admin:
        if not admin.remove(arguments.id):
            raise SubscriptionNotFound(arguments.id)
    print(f"removed subscription {arguments.id}")
    return 0


def _change(subscription_id: UUID, changes: SubscriptionChanges) -> int:
    with administration() as admin:
        changed = admin.change(subscription_id, changes)
    print(f"subscription {changed.id}: {changed.status.value} at position {changed.position}")
    return 0


def _guarded(action: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """The action, with what a person can fix reported in one line and exit status 1."""

    def run(arguments: argparse.Namespace) -> int:
        try:
            return action(arguments)
        except SubscriptionNotFound:
            return _fail(f"no subscription {arguments.id}")
        except (RefusedDestination, StoreUnavailable) as error:
            return _fail(str(error))

    return run


def _fail(message: str) -> int:
    print(f"shipments subscriptions: {message}", file=sys.stderr)
    return 1
