"""Handing results from a thread to event loops: one wake per loop for all that are queued.

``loop.call_soon_threadsafe`` writes to the loop's self-pipe on every call. The
committer settles a whole batch of writes at once (a batch of twenty waiting on
one loop cost twenty pipe writes and wake-ups: a sixth of the committer thread's
time under the PATCH benchmark's load, py-spy), and the log follower wakes every
open stream on each commit (a thousand streams, a thousand pipe writes). A
mailbox per loop takes them all and wakes its loop once.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import Callable
from typing import Any


class LoopMailbox:
    """Callbacks posted from any thread, run on one loop, with one wake for those queued."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._lock = threading.Lock()
        self._posted: list[tuple[Callable[..., None], tuple[Any, ...]]] = []

    def post(self, callback: Callable[..., None], *args: Any) -> None:
        """Run ``callback(*args)`` on the loop soon (raises RuntimeError if it is closed)."""
        with self._lock:
            self._posted.append((callback, args))
            if len(self._posted) > 1:
                return  # a wake is on its way and will take this one too
        try:
            self._loop.call_soon_threadsafe(self._run_posted)
        except RuntimeError:  # the loop is closed: nobody waits for these any more
            with self._lock:
                self._posted.clear()
            raise

    def _run_posted(self) -> None:
        with self._lock:
            posted, self._posted = self._posted, []
        for callback, args in posted:
            callback(*args)


class LoopMailboxes:
    """The mailbox of each running loop, forgotten with the loop."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, LoopMailbox] = (
            weakref.WeakKeyDictionary()
        )

    def of_running_loop(self) -> LoopMailbox:
        return self.of_loop(asyncio.get_running_loop())

    def of_loop(self, loop: asyncio.AbstractEventLoop) -> LoopMailbox:
        mailbox = self._by_loop.get(loop)
        if mailbox is None:
            with self._lock:
                mailbox = self._by_loop.setdefault(loop, LoopMailbox(loop))
        return mailbox
