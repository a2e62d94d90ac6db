"""The subscriptions page: status, lag, last error; re-enable and rewind through /v1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.browser.conftest import ConsolePages
from tests.support.servers import RunningServer, running_server

pytest.importorskip("playwright", reason="playwright is not installed (pip install -e '.[dev]')")
from playwright.sync_api import expect

pytestmark = [pytest.mark.slow, pytest.mark.browser]


@pytest.fixture
def delivering_server(tmp_path: Path) -> Iterator[RunningServer]:
    """A server allowed to deliver to loopback (where nothing listens on port 9)."""
    url = f"sqlite:///{tmp_path}/console-subscriptions.db"
    env = {"SHIPMENTS_WEBHOOK_ALLOW_PRIVATE": "true"}
    with running_server(url, tmp_path, extra_env=env) as server:
        yield server


def test_a_disabled_subscription_is_re_enabled_and_rewound_from_the_page(
    pages: ConsolePages, delivering_server: RunningServer
) -> None:
    base = delivering_server.base_url
    made = httpx.post(f"{base}/v1/subscriptions", json={"url": "http://127.0.0.1:9/hook"})
    assert made.status_code == 201, made.text
    path = f"{base}/v1/subscriptions/{made.json()['id']}"
    httpx.patch(path, json={"status": "disabled"}).raise_for_status()

    page = pages.open(delivering_server, "/ui/subscriptions")
    row = page.locator("tr", has_text="http://127.0.0.1:9/hook")
    expect(row.locator("td.status")).to_have_text("disabled")
    row.get_by_role("button", name="Re-enable").click()

    expect(page.locator(".list-status")).to_have_text("Re-enabled.")
    expect(row.locator("td.status")).to_have_text("active")
    assert httpx.get(path).json()["status"] == "active"
    row.get_by_label("Rewind http://127.0.0.1:9/hook to position").fill("0")
    row.get_by_role("button", name="Rewind").click()
    expect(page.locator(".list-status")).to_have_text("Moved to position 0.")
