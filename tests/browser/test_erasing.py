"""Erasing personal data from the console: an admin confirms, the page says when and by whom."""

from __future__ import annotations

import httpx
import pytest

from tests.browser.conftest import ConsolePages, create_shipment
from tests.support.servers import RunningServer

pytest.importorskip("playwright", reason="playwright is not installed (pip install -e '.[dev]')")
from playwright.sync_api import Dialog, expect

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def test_an_admin_erases_after_confirming_and_sees_when_and_by_whom(
    pages: ConsolePages, console_server: RunningServer, api: httpx.Client
) -> None:
    created = create_shipment(api, "erase-1", customerRemarks="gate code 4242")
    page = pages.open(console_server, f"/ui/shipments/{created['id']}")
    questions: list[str] = []

    def accept(dialog: Dialog) -> None:
        questions.append(dialog.message)
        dialog.accept()

    page.on("dialog", accept)
    page.get_by_role("button", name="Erase personal data…").click()

    expect(page.locator(".summary")).to_contain_text("personal data erased on")
    expect(page.locator(".summary")).to_contain_text("by anonymous")
    entry = page.locator('.timeline-entry[data-version="2"]')
    expect(entry).to_contain_text("Personal data erased on")
    assert "cannot be undone" in questions[0]
    current = api.get(f"/v1/shipments/{created['id']}").json()
    assert current["customerRemarks"] is None and current["personalDataErasedAt"] is not None
