"""A check any test that writes can end with: does the view say what the events say?"""

from __future__ import annotations

from api.wiring import build_services
from infrastructure.settings import Settings
from projections.lag import projection_status
from projections.verify import view_differences


def assert_view_matches_events(database_url: str) -> None:
    """Replay every stream of the store and fail, listing each difference, if the view disagrees.

    It reads through a store object of its own (cold caches), as ``shipments verify`` does.
    """
    services = build_services(Settings(database_url=database_url, create_tables=False))
    try:
        differences = view_differences(services.store, services.view)
    finally:
        services.close()
    assert not differences, "view differs from the events:\n" + "\n".join(map(str, differences))


def assert_view_caught_up(database_url: str) -> None:
    """Fail unless the view's tracked position is the head of the event log."""
    services = build_services(Settings(database_url=database_url, create_tables=False))
    try:
        status = projection_status(services.store, services.view)
    finally:
        services.close()
    assert status.position == status.head, status
