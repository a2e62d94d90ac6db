"""A real projection runner that stops inside its Nth batch, transaction open, until killed.

``python -m tests.projections.stalling_runner N BATCH_SIZE`` (store from
SHIPMENTS_DATABASE_URL) prints ``committed <position>`` after each batch it
commits, and ``mid-batch`` once it has written part of batch N's rows inside that
batch's transaction. The test then kills it with SIGKILL: the point of the test
is what the store looks like after a runner dies at the worst moment.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Sequence

from eventsourcing.persistence import Tracking

from api.wiring import build_services
from infrastructure.settings import Settings
from projections.runner import runner_for
from projections.shipment_view import ViewRow


def main(stall_at_batch: int, batch_size: int) -> None:
    settings = Settings(projection_runner=False, projection_batch_size=batch_size)
    services = build_services(settings)
    view = services.view
    commit_batch = view.upsert
    batches = 0

    def upsert_then_stall(rows: Sequence[ViewRow], tracking: Tracking | None) -> None:
        nonlocal batches
        batches += 1
        if batches < stall_at_batch:
            commit_batch(rows, tracking)
            print(f"committed {tracking.notification_id if tracking else None}", flush=True)
            return
        with view.datastore.transaction(commit=True) as cursor:
            view.write(cursor, rows[: max(1, len(rows) // 2)], None)
            print(f"mid-batch of {len(rows)} row(s)", flush=True)
            threading.Event().wait()  # until SIGKILL

    view.upsert = upsert_then_stall  # type: ignore[method-assign]
    runner_for(services.store, view, settings).start()
    threading.Event().wait()


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
