"""Browsing: the list, a shipment's timeline, and both following writes made elsewhere."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest

from tests.browser.conftest import (
    ConsolePages,
    create_shipment,
    patch_shipment,
    wait_for_live_updates,
)
from tests.support.servers import RunningServer

pytest.importorskip("playwright", reason="playwright is not installed (pip install -e '.[dev]')")
from playwright.sync_api import expect

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def test_list_leads_to_a_timeline_with_every_version_its_actor_and_request_id(
    pages: ConsolePages, console_server: RunningServer, api: httpx.Client
) -> None:
    tag = uuid.uuid4().hex[:8]
    created = create_shipment(
        api,
        f"create-{tag}",
        destinationAddress={
            "streetAddress1": "1 Audit Way",
            "city": "Montpelier",
            "state": "VT",
            "postalCode": "05602",
        },
    )
    weighed = patch_shipment(api, created, {"weightLbs": 4200}, f"weigh-{tag}")
    patch_shipment(api, weighed, {"status": "SUBMITTED"}, f"submit-{tag}")

    page = pages.open(console_server, "/ui/")
    page.get_by_label("Destination state").fill("VT")
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"destinationState=VT"))
    page.get_by_role("link", name=created["id"]).click()

    expect(page).to_have_url(f"{console_server.base_url}/ui/shipments/{created['id']}")
    entries = page.locator(".timeline-entry")
    expect(entries).to_have_count(3)
    for version, kind, request_id in [
        (1, "Created", f"create-{tag}"),
        (2, "Revised", f"weigh-{tag}"),
        (3, "Status changed", f"submit-{tag}"),
    ]:
        entry = page.locator(f'.timeline-entry[data-version="{version}"]')
        expect(entry.get_by_role("heading")).to_have_text(f"Version {version} {kind}")
        expect(entry.locator(".actor")).to_have_text("anonymous")
        expect(entry.locator(".request-id")).to_have_text(request_id)
    weight_change = page.locator('.timeline-entry[data-version="2"] tr[data-field="weightLbs"]')
    expect(weight_change.locator(".from")).to_have_text("none")
    expect(weight_change.locator(".to")).to_have_text("4200")
    expect(weight_change.get_by_role("rowheader")).to_have_text("Weight (lbs) weightLbs")
    # Times name their zone and keep milliseconds; the exact instant is on hover.
    recorded = page.locator('.timeline-entry[data-version="2"] time')
    expect(recorded).to_have_text(re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3} \S+$"))
    assert weighed["updatedAt"] == recorded.get_attribute("title")

    expect(entries.first).to_have_attribute("data-version", "3")  # newest first by default
    page.get_by_label("Oldest first").check()
    expect(entries.first).to_have_attribute("data-version", "1")


def test_list_shows_a_shipment_created_elsewhere_without_a_reload(
    pages: ConsolePages, console_server: RunningServer, api: httpx.Client
) -> None:
    page = pages.open(console_server, "/ui/")
    wait_for_live_updates(page)
    page.evaluate("window.notReloaded = true")

    created = create_shipment(api, "live-list")

    expect(page.get_by_role("link", name=created["id"])).to_be_visible()
    assert page.evaluate("window.notReloaded") is True


def test_timeline_shows_a_write_by_another_client_without_a_reload(
    pages: ConsolePages, console_server: RunningServer, api: httpx.Client
) -> None:
    created = create_shipment(api, "live-timeline-create")
    page = pages.open(console_server, f"/ui/shipments/{created['id']}")
    expect(page.locator(".timeline-entry")).to_have_count(1)
    wait_for_live_updates(page)
    page.evaluate("window.notReloaded = true")

    patch_shipment(api, created, {"customerRemarks": "left at the gate"}, "live-timeline-write")

    newest = page.locator('.timeline-entry[data-version="2"]')
    expect(newest.locator(".request-id")).to_have_text("live-timeline-write")
    expect(newest.locator('tr[data-field="customerRemarks"] .to')).to_have_text("left at the gate")
    expect(page.locator(".summary")).to_contain_text("current version 2")
    assert page.evaluate("window.notReloaded") is True


@pytest.mark.parametrize("path", ["/ui/", "/ui/shipments/{id}"])
def test_pages_fit_a_phone_screen_without_sideways_scrolling(
    pages: ConsolePages, console_server: RunningServer, api: httpx.Client, path: str
) -> None:
    created = create_shipment(api, "phone")
    patch_shipment(api, created, {"customerRemarks": "a rather long remark " * 8}, "phone-2")
    page = pages.open(
        console_server, path.format(id=created["id"]), viewport={"width": 375, "height": 740}
    )
    expect(page.locator("main h1")).to_be_visible()
    if "shipments" in path:
        expect(page.locator(".timeline-entry")).to_have_count(2)
    else:
        expect(page.get_by_role("link", name=created["id"])).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375


def test_next_page_follows_the_cursor_and_previous_page_comes_back(
    pages: ConsolePages, console_server: RunningServer, api: httpx.Client
) -> None:
    wyoming = {"streetAddress1": "1 Range Rd", "city": "Cody", "state": "WY", "postalCode": "82414"}
    ids = {create_shipment(api, f"page-{n}", destinationAddress=wyoming)["id"] for n in range(27)}
    page = pages.open(console_server, "/ui/?destinationState=WY")
    rows = page.locator("table.shipment-list tbody tr")
    expect(rows).to_have_count(25)
    expect(page.get_by_label("Destination state")).to_have_value("WY")
    first_page = set(rows.evaluate_all("rows => rows.map(row => row.dataset.id)"))

    page.get_by_role("button", name="Next page").click()
    expect(rows).to_have_count(2)
    expect(page.get_by_role("button", name="Next page")).to_be_disabled()
    second_page = set(rows.evaluate_all("rows => rows.map(row => row.dataset.id)"))
    assert first_page | second_page == ids

    page.get_by_role("button", name="Previous page").click()
    expect(rows).to_have_count(25)
