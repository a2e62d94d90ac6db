"""Publishing to JetStream without waiting: a future per message for the stream's answer.

nats-py's own ``JetStreamContext.publish_async`` does this, but a message the
stream refuses leaves its future pending for ever: the reply handler calls
``APIError.from_error``, which raises instead of returning, so the error escapes
into the subscription's task and is only logged (nats-io/nats.py#985, open at
nats-py 2.16). A refusal is the answer ``nats_sender`` relies on, so this keeps
the same shape (one inbox subscription per connection, a token per message)
with the error set on the future.
"""

from __future__ import annotations

import asyncio
import json
from itertools import count
from typing import Any

from nats.js.errors import APIError, NoStreamResponseError

NO_RESPONDERS = "503"  # the status of the server's answer when no stream takes the subject


class Acknowledgements:
    """The answers to one connection's JetStream publishes, matched by reply subject."""

    def __init__(self, connection: Any) -> None:
        self._connection = connection
        self._prefix = f"{connection.new_inbox()}."
        self._tokens = count()
        self._waiting: dict[str, asyncio.Future[None]] = {}
        self._subscribed = False

    async def publish(
        self, subject: str, body: bytes, headers: dict[str, str]
    ) -> asyncio.Future[None]:
        """Publish now; the future is done when the stream stored it (or raises its refusal)."""
        if not self._subscribed:
            await self._connection.subscribe(f"{self._prefix}*", cb=self._answered)
            self._subscribed = True
        token = str(next(self._tokens))
        answer: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting[token] = answer
        answer.add_done_callback(lambda _: self._waiting.pop(token, None))  # also on time-out
        await self._connection.publish(
            subject, body, reply=f"{self._prefix}{token}", headers=headers
        )
        return answer

    async def _answered(self, reply: Any) -> None:
        answer = self._waiting.get(reply.subject[len(self._prefix) :])
        if answer is None or answer.done():
            return
        if reply.headers and reply.headers.get("Status") == NO_RESPONDERS:
            answer.set_exception(NoStreamResponseError())
            return
        try:
            error = json.loads(reply.data).get("error")
            if error:
                APIError.from_error(error)  # raises the library's error for the code
        except (ValueError, AttributeError) as unreadable:
            answer.set_exception(APIError(description=f"unreadable answer: {unreadable}"))
        except APIError as refused:
            answer.set_exception(refused)
        else:
            answer.set_result(None)
