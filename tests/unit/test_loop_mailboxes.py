"""Results posted from another thread reach their loop, in order, with one wake per batch."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from infrastructure.loop_mailboxes import LoopMailboxes


def test_every_posted_callback_runs_on_the_loop_in_order_with_one_wake_per_batch() -> None:
    mailboxes = LoopMailboxes()
    ran: list[tuple[int, str]] = []
    wakes = 0

    async def scenario() -> None:
        nonlocal wakes
        loop = asyncio.get_running_loop()
        original = loop.call_soon_threadsafe

        def counted(callback: Any, *args: Any) -> Any:
            nonlocal wakes
            wakes += 1
            return original(callback, *args)

        loop.call_soon_threadsafe = counted  # type: ignore[method-assign]
        mailbox = mailboxes.of_running_loop()
        assert mailboxes.of_running_loop() is mailbox
        done = asyncio.Event()

        def record(number: int) -> None:
            ran.append((number, threading.current_thread().name))
            if number == 19:
                done.set()

        def committer() -> None:  # a batch of twenty, settled at once
            for number in range(20):
                mailbox.post(record, number)

        thread = threading.Thread(target=committer, name="committer")
        thread.start()
        thread.join()
        await asyncio.wait_for(done.wait(), 10)

    asyncio.run(scenario())
    assert [number for number, _ in ran] == list(range(20))
    assert {name for _, name in ran} == {"MainThread"}
    assert wakes == 1


def test_posting_to_a_closed_loop_raises_and_keeps_nothing() -> None:
    mailboxes = LoopMailboxes()

    async def mailbox_of_this_loop() -> Any:
        return mailboxes.of_running_loop()

    loop = asyncio.new_event_loop()
    mailbox = loop.run_until_complete(mailbox_of_this_loop())
    loop.close()
    with pytest.raises(RuntimeError):
        mailbox.post(print, "never")
    with pytest.raises(RuntimeError):
        mailbox.post(print, "never again")  # not swallowed behind a wake that never came
