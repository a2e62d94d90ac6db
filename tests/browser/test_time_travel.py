"""Time travel: a version by its link, stepping through the stream, an instant, a comparison."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.browser.conftest import ConsolePages, create_shipment, patch_shipment
from tests.support.servers import RunningServer

pytest.importorskip("playwright", reason="playwright is not installed (pip install -e '.[dev]')")
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.slow, pytest.mark.browser]


@pytest.fixture
def three_versions(api: httpx.Client) -> dict[str, Any]:
    """A shipment at version 3: its weight set at 2, its status moved at 3."""
    created = create_shipment(api, "travel-1")
    weighed = patch_shipment(api, created, {"weightLbs": 100}, "travel-2")
    return patch_shipment(api, weighed, {"status": "SUBMITTED"}, "travel-3")


def state_row(page: Page, field: str) -> Any:
    return page.locator(f'.state-section tr[data-field="{field}"]')


def test_a_link_to_a_version_shows_that_version_labelled_and_read_only(
    pages: ConsolePages, console_server: RunningServer, three_versions: dict[str, Any]
) -> None:
    page = pages.open(console_server, f"/ui/shipments/{three_versions['id']}?version=2")

    expect(page.locator("#state-heading")).to_have_text("Version 2 (read-only)")
    expect(state_row(page, "weightLbs").locator("td")).to_contain_text("100")
    expect(state_row(page, "weightLbs")).to_have_class(re.compile(r"\bmarked\b"))
    expect(state_row(page, "status").locator("td")).to_have_text("DRAFT")
    expect(state_row(page, "version").locator("td")).to_have_text("2")
    expect(page.get_by_role("button", name="Save")).to_be_hidden()


def test_stepping_through_versions_marks_the_fields_each_step_changed(
    pages: ConsolePages, console_server: RunningServer, three_versions: dict[str, Any]
) -> None:
    page = pages.open(console_server, f"/ui/shipments/{three_versions['id']}?version=1")
    expect(page.locator("#state-heading")).to_have_text("Version 1 (read-only)")
    expect(page.get_by_role("button", name="Previous version")).to_be_disabled()

    page.get_by_role("button", name="Next version").click()
    expect(page.locator("#state-heading")).to_have_text("Version 2 (read-only)")
    expect(page).to_have_url(re.compile(r"\?version=2$"))
    expect(page.locator(".state-section tr.marked")).to_have_count(1)
    expect(state_row(page, "weightLbs")).to_have_class(re.compile(r"\bmarked\b"))

    page.get_by_role("button", name="Next version").click()
    expect(page.locator("#state-heading")).to_have_text("Version 3 (read-only)")
    expect(state_row(page, "status")).to_have_class(re.compile(r"\bmarked\b"))
    expect(state_row(page, "weightLbs")).not_to_have_class(re.compile(r"\bmarked\b"))
    expect(page.get_by_role("button", name="Next version")).to_be_disabled()

    page.get_by_role("button", name="Previous version").click()
    expect(page.locator("#state-heading")).to_have_text("Version 2 (read-only)")
    page.go_back()
    expect(page.locator("#state-heading")).to_have_text("Version 3 (read-only)")


def test_an_instant_shows_the_version_current_then(
    pages: ConsolePages,
    console_server: RunningServer,
    api: httpx.Client,
    three_versions: dict[str, Any],
) -> None:
    shipment_id = three_versions["id"]
    history = api.get(f"/v1/shipments/{shipment_id}/history").json()["items"]
    page = pages.open(console_server, f"/ui/shipments/{shipment_id}")

    page.get_by_label("Instant").fill(history[1]["recordedAt"])
    page.get_by_role("button", name="Show as of").click()

    expect(page.locator("#state-heading")).to_have_text(
        f"As of {history[1]['recordedAt']}: version 2 (read-only)"
    )
    expect(page).to_have_url(re.compile(r"asOf="))


def test_comparing_two_versions_marks_the_fields_that_differ(
    pages: ConsolePages, console_server: RunningServer, three_versions: dict[str, Any]
) -> None:
    page = pages.open(console_server, f"/ui/shipments/{three_versions['id']}")

    page.get_by_label("Compare version").fill("1")
    page.get_by_label("with version").fill("3")
    page.get_by_role("button", name="Compare").click()

    comparison = page.locator("table.comparison")
    expect(comparison.locator("caption")).to_have_text("Version 1 and version 3")
    expect(comparison.locator('tr[data-field="weightLbs"]')).to_have_class(re.compile("marked"))
    expect(comparison.locator('tr[data-field="status"]')).to_have_class(re.compile("marked"))
    expect(comparison.locator('tr[data-field="shipmentType"]')).not_to_have_class(
        re.compile("marked")
    )
    expect(page.locator(".comparison-summary")).to_contain_text("weightLbs")
