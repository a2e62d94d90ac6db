"""The webhook sender on its own: what it refuses, what it counts as delivered, what it tells.

Each test runs a small aiohttp receiver on loopback in the sender's own loop.
Names are resolved by a fake resolver where a test needs a name that points
at a private address (as a rebinding attacker's DNS would).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable

import pytest
from aiohttp import web

from infrastructure.delivery.sending import SendResult
from infrastructure.delivery.webhook_sender import EXCERPT_BYTES, WebhookSender

SECRET_HEADERS = {"webhook-id": "msg_1", "webhook-signature": "v1,c2VjcmV0LXNpZ25hdHVyZQ=="}
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class NamesOnLoopback:
    """Resolves every name to 127.0.0.1: a public-looking name with a private address."""

    async def resolve(self, host: str, port: int) -> list[str]:
        return ["127.0.0.1"]


def send_to(
    handler: Handler,
    *,
    allow_private: bool,
    host: str = "127.0.0.1",
    timeout: float = 5.0,
    names_on_loopback: bool = False,
) -> tuple[SendResult, int]:
    """One send to a receiver answering with ``handler``: the result, and requests received."""
    received: list[web.Request] = []

    async def counted(request: web.Request) -> web.StreamResponse:
        received.append(request)
        return await handler(request)

    async def scenario() -> SendResult:
        app = web.Application()
        app.router.add_post("/{tail:.*}", counted)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        resolver = NamesOnLoopback() if names_on_loopback else None
        sender = WebhookSender(timeout, allow_private=allow_private, resolver=resolver)
        try:
            return await sender.send(f"http://{host}:{port}/hook", b"{}", dict(SECRET_HEADERS))
        finally:
            await sender.close()
            await runner.cleanup()

    return asyncio.run(scenario()), len(received)


async def no_content(_: web.Request) -> web.StreamResponse:
    return web.Response(status=204)


def test_a_2xx_is_delivered_when_private_addresses_are_allowed() -> None:
    result, received = send_to(no_content, allow_private=True)

    assert result == SendResult(204, None)
    assert received == 1


@pytest.mark.parametrize("host", ["127.0.0.1", "[::1]", "169.254.169.254", "10.1.2.3", "0.0.0.0"])
def test_a_private_address_literal_is_refused_without_connecting(host: str) -> None:
    result, received = send_to(no_content, allow_private=False, host=host)

    assert result.status_code is None
    assert result.error is not None and result.error.startswith("refused: ")
    assert received == 0


@pytest.mark.parametrize("host", ["localhost", "hooks.example.com"])
def test_a_name_that_resolves_to_a_private_address_is_refused_without_connecting(
    host: str,
) -> None:
    result, received = send_to(
        no_content, allow_private=False, host=host, names_on_loopback=host != "localhost"
    )

    assert result.error is not None and result.error.startswith("refused: ")
    assert "resolves to a loopback, private or link-local address" in result.error
    assert received == 0


def test_the_same_name_is_delivered_to_when_private_addresses_are_allowed() -> None:
    result, received = send_to(
        no_content, allow_private=True, host="hooks.example.com", names_on_loopback=True
    )

    assert result == SendResult(204, None)
    assert received == 1


def test_a_redirect_is_a_failure_and_is_not_followed() -> None:
    async def moved(_: web.Request) -> web.StreamResponse:
        return web.Response(status=302, headers={"location": "http://127.0.0.1:1/elsewhere"})

    result, received = send_to(moved, allow_private=True)

    assert result.status_code == 302
    assert result.error is not None and result.error.startswith("HTTP 302")
    assert received == 1


def test_a_failing_answer_is_reported_with_an_excerpt_of_its_body_and_no_headers() -> None:
    async def failing(_: web.Request) -> web.StreamResponse:
        return web.Response(status=500, body=b"x" * 100_000)

    result, _ = send_to(failing, allow_private=True)

    assert result.status_code == 500
    assert result.error == "HTTP 500: " + "x" * EXCERPT_BYTES
    assert "v1," not in result.error


def test_a_receiver_that_does_not_answer_in_time_is_a_failure() -> None:
    async def hanging(_: web.Request) -> web.StreamResponse:
        await asyncio.sleep(5)
        return web.Response(status=204)

    result, _ = send_to(hanging, allow_private=True, timeout=0.2)

    assert result == SendResult(None, "the receiver did not answer in time")


def test_a_receiver_that_is_not_there_is_a_failure_naming_no_headers() -> None:
    async def scenario() -> SendResult:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        sender = WebhookSender(2.0, allow_private=True)
        try:
            return await sender.send(f"http://127.0.0.1:{port}/", b"{}", dict(SECRET_HEADERS))
        finally:
            await sender.close()

    result = asyncio.run(scenario())

    assert result.status_code is None
    assert result.error is not None and "v1," not in result.error
