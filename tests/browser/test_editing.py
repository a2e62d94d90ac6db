"""Editing with the tag: saves that succeed, a stale tag's conflict, errors beside their fields."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.browser.conftest import ConsolePages, create_shipment, patch_shipment
from tests.support.servers import RunningServer

pytest.importorskip("playwright", reason="playwright is not installed (pip install -e '.[dev]')")
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def editing(page: Page, version: int) -> None:
    """Until the form is loaded with ``version`` (and its tag)."""
    expect(page.locator(".basis")).to_contain_text(f"Editing version {version};")


def test_a_save_appends_a_version_and_the_next_save_uses_the_new_tag(
    pages: ConsolePages, console_server: RunningServer, api: httpx.Client
) -> None:
    created = create_shipment(api, "save-1")
    page = pages.open(console_server, f"/ui/shipments/{created['id']}")
    editing(page, 1)

    page.get_by_label("Weight (lbs)").fill("4300")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".form-message")).to_have_text("Saved: now at version 2.")
    editing(page, 2)
    expect(page.locator('.timeline-entry[data-version="2"]')).to_contain_text("weightLbs")

    page.get_by_label("Customer remarks").fill("call before delivery")
    page.get_by_label("Status").select_option("SUBMITTED")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".form-message")).to_have_text("Saved: now at version 3.")

    current = api.get(f"/v1/shipments/{created['id']}").json()
    assert (current["version"], current["weightLbs"], current["status"]) == (3, 4300, "SUBMITTED")
    assert current["customerRemarks"] == "call before delivery"
    history = api.get(f"/v1/shipments/{created['id']}/history").json()["items"]
    assert set(history[2]["changes"]) == {"customerRemarks", "status"}  # only what changed


def test_a_stale_save_shows_the_other_writers_change_and_saves_once_reapplied(
    pages: ConsolePages, console_server: RunningServer, api: httpx.Client
) -> None:
    created = create_shipment(api, "stale-1")
    page = pages.open(console_server, f"/ui/shipments/{created['id']}")
    editing(page, 1)
    page.get_by_label("Weight (lbs)").fill("5000")

    patch_shipment(api, created, {"customerRemarks": "from the other desk"}, "other-writer")
    page.get_by_role("button", name="Save").click()

    conflict = page.locator(".conflict")
    expect(conflict.get_by_role("heading", level=3)).to_have_text(
        "Someone else changed this shipment"
    )
    theirs = conflict.locator('.their-changes li[data-version="2"]')
    expect(theirs.locator(".request-id")).to_have_text("other-writer")
    expect(theirs.locator('tr[data-field="customerRemarks"] .to')).to_have_text(
        "from the other desk"
    )
    expect(conflict.locator('table.yours tr[data-field="weightLbs"]')).to_contain_text("5000")
    assert api.get(f"/v1/shipments/{created['id']}").json()["weightLbs"] is None

    conflict.get_by_role("button", name="Re-apply my edits").click()
    expect(page.locator(".conflict")).to_have_count(0)
    editing(page, 2)
    expect(page.get_by_label("Weight (lbs)")).to_have_value("5000")
    expect(page.get_by_label("Customer remarks")).to_have_value("from the other desk")

    page.get_by_role("button", name="Save").click()
    expect(page.locator(".form-message")).to_have_text("Saved: now at version 3.")
    current = api.get(f"/v1/shipments/{created['id']}").json()
    assert (current["weightLbs"], current["customerRemarks"]) == (5000, "from the other desk")


def test_discarding_after_a_conflict_shows_the_current_version(
    pages: ConsolePages, console_server: RunningServer, api: httpx.Client
) -> None:
    created = create_shipment(api, "discard-1")
    page = pages.open(console_server, f"/ui/shipments/{created['id']}")
    editing(page, 1)
    page.get_by_label("Weight (lbs)").fill("7")
    patch_shipment(api, created, {"weightLbs": 8}, "other-writer")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".overlap-note")).to_contain_text("weightLbs")

    page.get_by_role("button", name="Discard my edits").click()

    editing(page, 2)
    expect(page.get_by_label("Weight (lbs)")).to_have_value("8")


def test_an_invalid_value_is_shown_next_to_its_field(
    pages: ConsolePages, console_server: RunningServer, api: httpx.Client
) -> None:
    created = create_shipment(api, "invalid-1")
    page = pages.open(console_server, f"/ui/shipments/{created['id']}")
    editing(page, 1)
    postal_code = page.get_by_role("group", name="Destination address").get_by_label("Postal code")

    postal_code.fill("ABC")
    page.get_by_role("button", name="Save").click()

    error = page.locator("#edit-destinationAddress-postalCode-error")
    expect(error).to_be_visible()
    expect(error).to_have_attribute("role", "alert")
    expect(postal_code).to_have_attribute("aria-invalid", "true")
    expect(postal_code).to_have_attribute(
        "aria-describedby", "edit-destinationAddress-postalCode-error"
    )
    expect(postal_code).to_be_focused()
    assert api.get(f"/v1/shipments/{created['id']}").json()["version"] == 1


def test_an_illegal_status_change_is_shown_next_to_the_status(
    pages: ConsolePages, console_server: RunningServer, api: httpx.Client
) -> None:
    created = create_shipment(api, "illegal-1")
    page = pages.open(console_server, f"/ui/shipments/{created['id']}")
    editing(page, 1)

    page.get_by_label("Status").select_option("DELIVERED")
    page.get_by_role("button", name="Save").click()

    expect(page.locator("#edit-status-error")).to_be_visible()
    expect(page.locator(".form-error")).to_contain_text("409")
    expect(page.get_by_label("Status")).to_have_attribute("aria-invalid", "true")


def test_unsaved_edits_survive_a_visit_to_a_past_version(
    pages: ConsolePages, console_server: RunningServer, api: httpx.Client
) -> None:
    created = create_shipment(api, "visit-1")
    patch_shipment(api, created, {"weightLbs": 10}, "visit-2")
    page = pages.open(console_server, f"/ui/shipments/{created['id']}")
    editing(page, 2)
    page.get_by_label("Weight (lbs)").fill("77")

    page.locator(".timeline").get_by_role("link", name="Version 1").click()
    expect(page.locator("#state-heading")).to_have_text("Version 1 (read-only)")
    expect(page.get_by_role("button", name="Save")).to_be_hidden()
    page.get_by_role("link", name="Back to the current state", exact=True).click()

    expect(page.locator("#state-heading")).to_have_text("Current state")
    expect(page.get_by_label("Weight (lbs)")).to_have_value("77")
    page.go_back()
    expect(page.locator("#state-heading")).to_have_text("Version 1 (read-only)")
    page.go_forward()
    expect(page.get_by_label("Weight (lbs)")).to_have_value("77")


def test_a_412_that_carries_changes_since_is_shown_from_its_body(
    pages: ConsolePages, console_server: RunningServer, api: httpx.Client
) -> None:
    created = create_shipment(api, "body-412")
    page = pages.open(console_server, f"/ui/shipments/{created['id']}")
    editing(page, 1)
    told = {
        "version": 2,
        "type": "Revised",
        "recordedAt": "2026-05-02T09:12:44.001200Z",
        "actor": "night-shift",
        "requestId": "named-in-the-412",
        "changes": {"weightLbs": {"from": None, "to": 1234}},
    }
    problem = {
        "type": "/problems/version-conflict",
        "title": "The shipment was changed by someone else",
        "status": 412,
        "detail": "the shipment has changed",
        "currentVersion": 2,
        "currentETag": "opaque",
        "changesSince": [told],
        "changesSinceComplete": True,
    }
    page.route(
        f"**/v1/shipments/{created['id']}",
        lambda route: (
            route.fulfill(
                status=412, content_type="application/problem+json", body=json.dumps(problem)
            )
            if route.request.method == "PATCH"
            else route.fallback()
        ),
    )

    page.get_by_label("Weight (lbs)").fill("99")
    page.get_by_role("button", name="Save").click()

    theirs = page.locator('.their-changes li[data-version="2"]')
    expect(theirs.locator(".request-id")).to_have_text("named-in-the-412")
    expect(theirs.locator(".actor")).to_have_text("night-shift")
    expect(page.locator(".overlap-note")).to_contain_text("weightLbs")
