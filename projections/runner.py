"""The projection runner: keeps one view's tracking position at the head of the event log.

Built from the library's parts: ``ApplicationSubscription`` (the recorder's
``subscribe``: LISTEN/NOTIFY on PostgreSQL, polling on SQLite) yields each event
with its ``Tracking``; the view's ``Projection`` processes it; the position is
committed with the rows. The library's own ``ProjectionRunner`` is not used
because it constructs a second application from a class and an environment
(ours is built from ``Settings``), commits one transaction per event (too slow
to rebuild or catch up), and has no notion of a single active runner. This one
adds exactly those: batches (whatever has arrived, up to ``batch_size``, in one
transaction) and leadership (``projections.leadership``).

It starts from the view's tracked position, catches up, then follows live. If
the position moves under it (a rebuild swapped a new table in), it subscribes
again from the new position. On any failure it gives up the lock, waits, and
starts over from the last committed position; nothing is lost or applied twice.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from typing import Any

from eventsourcing.persistence import IntegrityError, Tracking
from eventsourcing.projection import ApplicationSubscription

from infrastructure.event_store import ShipmentStore
from infrastructure.settings import Settings
from projections.leadership import Leadership, leadership_for
from projections.shipment_states import ShipmentStates, repository_loader
from projections.shipment_view import ShipmentView
from projections.shipment_view_projection import LagObserver, ShipmentViewProjection

_log = logging.getLogger("shipments.projections")
_END = object()
# How often a runner with nothing to do checks that it still holds the lock.
LEADERSHIP_CHECK_SECONDS = 1.0


class RecordedEvent:
    """An event of the log whose body is decoded only when something reads it.

    Live, nearly every event the runner sees was written by the write path, which
    brought its view row up in the same transaction: the runner needs only the
    notification's stream and version to see that, and decoding the body (the
    library's mapper: JSON, upcasting, an event object) was most of its cost.
    Reading any other attribute decodes the event, with the library's mapper.
    """

    __slots__ = ("_decoded", "_mapper", "_notification", "originator_id", "originator_version")

    def __init__(self, notification: Any, mapper: Any) -> None:
        self._notification = notification
        self._mapper = mapper
        self._decoded: Any = None
        self.originator_id = notification.originator_id
        self.originator_version = notification.originator_version

    def decoded(self) -> Any:
        """The domain event itself."""
        if self._decoded is None:
            self._decoded = self._mapper.to_domain_event(self._notification)
        return self._decoded

    def __getattr__(self, name: str) -> Any:
        return getattr(self.decoded(), name)


class DeferredDecoding(ApplicationSubscription[Any]):
    """The library's subscription, yielding ``RecordedEvent``s instead of decoded events.

    With ``projected_in`` (a view table) the recorder sends only the events that
    view lacks, and the last of each page as the position to move to: the write
    path projected nearly every event in its own transaction, and reading each one
    again was what following the log cost (issue #19).
    """

    def __init__(
        self, app: Any, gt: int | None = None, *, projected_in: tuple[str, str] | None = None
    ) -> None:
        # The library's __init__, with the one more argument its subscribe call lacks.
        self.name = app.name
        self.recorder = app.recorder
        self.mapper = app.mapper
        self.subscription = app.recorder.subscribe(gt=gt, projected_in=projected_in)

    def __next__(self) -> tuple[Any, Tracking]:
        notification = next(self.subscription)
        return RecordedEvent(notification, self.mapper), Tracking(self.name, notification.id)


class EventFeed:
    """Moves events from the blocking subscription into a queue: a batch is what has arrived."""

    def __init__(self, subscription: ApplicationSubscription[Any], max_pending: int) -> None:
        self._subscription = subscription
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=max_pending)
        self._closed = threading.Event()
        self.ended = False
        self._thread = threading.Thread(target=self._pump, name="projection-feed", daemon=True)
        self._thread.start()

    def take(self, max_items: int, timeout: float) -> list[tuple[Any, Tracking]]:
        """Up to ``max_items`` events: waits ``timeout`` for the first, not for the rest."""
        items: list[tuple[Any, Tracking]] = []
        try:
            item = self._queue.get(timeout=timeout)
        except queue.Empty:
            return items
        while True:
            if item is _END:
                self.ended = True
                break
            if isinstance(item, BaseException):
                raise item
            items.append(item)
            if len(items) >= max_items:
                break
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
        return items

    def close(self) -> None:
        """Stop pumping (the subscription must be stopped too) and wait for the thread."""
        self._closed.set()
        self._thread.join()

    def _pump(self) -> None:
        try:
            for item in self._subscription:
                if not self._put(item):
                    return
        except BaseException as error:  # noqa: BLE001 - handed to the runner, which decides
            self._put(error)
        self._put(_END)

    def _put(self, item: Any) -> bool:
        while not self._closed.is_set():
            try:
                self._queue.put(item, timeout=0.2)
            except queue.Full:
                continue
            return True
        return False


class ViewRunner:
    """Runs one view's projection in a thread while this process holds the view's lock."""

    def __init__(
        self,
        store: ShipmentStore,
        view: ShipmentView,
        leadership: Leadership,
        *,
        batch_size: int = 500,
        standby_retry_seconds: float = 1.0,
        state_cache_size: int = 10_000,
        observe_lag: LagObserver | None = None,
    ) -> None:
        self.store = store
        self.view = view
        self._leadership = leadership
        self._batch_size = batch_size
        self._standby_retry_seconds = standby_retry_seconds
        self._states = ShipmentStates(repository_loader(store), state_cache_size)
        self._observe_lag = observe_lag
        self._stopping = threading.Event()
        self._active = threading.Event()
        self._subscription: ApplicationSubscription[Any] | None = None
        self._thread: threading.Thread | None = None

    @property
    def name(self) -> str:
        return self.view.tracking_name

    @property
    def is_active(self) -> bool:
        """Whether this runner holds the lock and is following the log."""
        return self._active.is_set()

    def start(self) -> ViewRunner:
        """Run in a background thread (as the active runner, or on standby)."""
        self._thread = threading.Thread(target=self._run, name=f"runner-{self.name}", daemon=True)
        self._thread.start()
        return self

    def wait_until_active(self, timeout: float) -> bool:
        """Block until this runner is the active one, or ``timeout``; returns whether it is."""
        return self._active.wait(timeout)

    def stop(self, timeout: float = 30.0) -> None:
        """Stop following, release the lock, and wait for the thread to end."""
        self._stopping.set()
        subscription = self._subscription
        if subscription is not None:
            subscription.stop()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        try:
            while not self._stopping.is_set():
                if not self._leadership.try_acquire():
                    self._stopping.wait(self._standby_retry_seconds)
                    continue
                _log.info("projection runner for %s is active", self.name)
                self._active.set()
                try:
                    while not self._stopping.is_set() and self._follow():
                        pass
                except Exception:  # noqa: BLE001 - any failure: log, back off, start over
                    _log.exception("projection runner for %s failed; it will start over", self.name)
                    self._stopping.wait(self._standby_retry_seconds)
                finally:
                    self._active.clear()
                    self._leadership.release()
        finally:
            self._leadership.close()

    def _follow(self) -> bool:
        """Follow the log from the tracked position; True to subscribe again at once."""
        position = self.view.max_tracking_id(self.name)
        projection = ShipmentViewProjection(self.view, self._states, observe_lag=self._observe_lag)
        subscription: ApplicationSubscription[Any] = DeferredDecoding(
            self.store, gt=position, projected_in=self.view.projected_in
        )
        self._subscription = subscription
        if self._stopping.is_set():  # stop() may have missed this subscription
            subscription.stop()
        with subscription:
            feed = EventFeed(subscription, max_pending=self._batch_size * 4)
            try:
                return self._process(feed, projection)
            finally:
                subscription.stop()
                feed.close()
                self._subscription = None

    def _process(self, feed: EventFeed, projection: ShipmentViewProjection) -> bool:
        checked = time.monotonic()
        while not self._stopping.is_set():
            for event, tracking in feed.take(self._batch_size, LEADERSHIP_CHECK_SECONDS):
                projection.process_event(event, tracking)
            try:
                projection.commit()
            except IntegrityError:
                # Our position is behind the recorded one: a rebuild swapped in a
                # table that is further on. Nothing was written; resume from there.
                projection.discard()
                _log.info("view %s moved on under its runner; following from there", self.name)
                return True
            if feed.ended:
                return False
            if time.monotonic() - checked >= LEADERSHIP_CHECK_SECONDS:
                checked = time.monotonic()
                if not self._leadership.still_held():
                    _log.warning("projection runner for %s lost its lock", self.name)
                    return False
        return False


def runner_for(
    store: ShipmentStore,
    view: ShipmentView,
    settings: Settings,
    observe_lag: LagObserver | None = None,
) -> ViewRunner:
    """A runner for ``view`` configured from settings, with the view's own lock."""
    return ViewRunner(
        store,
        view,
        leadership_for(store, view.tracking_name),
        batch_size=settings.projection_batch_size,
        standby_retry_seconds=settings.projection_standby_retry_seconds,
        state_cache_size=settings.projection_state_cache_size,
        observe_lag=observe_lag,
    )
