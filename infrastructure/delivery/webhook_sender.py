"""Webhook deliveries: one signed ``POST`` per message, nothing followed, little kept.

Redirects are not followed (a 3xx is a failure: a receiver that moved must be
re-subscribed, and following would let a public URL point us at a private one);
of an answer at most ``EXCERPT_BYTES`` are read; the host is checked again before
every attempt (``destinations``), since a name may resolve elsewhere by now.
"""

from __future__ import annotations

import asyncio
import logging

import httpx

from infrastructure.delivery.destinations import RefusedDestination, checked_destination
from infrastructure.delivery.sending import SendResult

EXCERPT_BYTES = 200
_log = logging.getLogger("shipments.delivery")


class WebhookSender:
    """POSTs messages over one shared connection pool."""

    def __init__(self, timeout_seconds: float, *, allow_private: bool) -> None:
        self._allow_private = allow_private
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_seconds),
            follow_redirects=False,
            trust_env=False,  # a proxy from the environment must not carry deliveries
            headers={"user-agent": "shipments-webhooks/1"},
        )

    async def send(self, url: str, body: bytes, headers: dict[str, str]) -> SendResult:
        try:
            if not self._allow_private:
                await asyncio.to_thread(checked_destination, url, allow_private=False)
            async with self._client.stream(
                "POST", url, content=body, headers={"content-type": "application/json", **headers}
            ) as response:
                if 200 <= response.status_code < 300:
                    return SendResult(response.status_code, None)
                excerpt = await _excerpt(response)
                return SendResult(response.status_code, f"HTTP {response.status_code}: {excerpt}")
        except RefusedDestination as refused:
            return SendResult(None, f"refused: {refused}")
        except httpx.TimeoutException:
            return SendResult(None, "the receiver did not answer in time")
        except httpx.HTTPError as error:
            # The exception's text names the URL at most; never headers (signatures).
            return SendResult(None, f"{type(error).__name__}: {error}")

    async def close(self) -> None:
        await self._client.aclose()


async def _excerpt(response: httpx.Response) -> str:
    """The start of an answer's body, as text: what a person needs to see why it failed."""
    read = b""
    async for chunk in response.aiter_raw():
        read += chunk
        if len(read) >= EXCERPT_BYTES:
            break
    return read[:EXCERPT_BYTES].decode("utf-8", errors="replace")
