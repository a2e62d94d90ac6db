"""With tokens required: the console asks for one, and shows editing to writers only."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.browser.conftest import NEW_SHIPMENT, ConsolePages, TokenServer

pytest.importorskip("playwright", reason="playwright is not installed (pip install -e '.[dev]')")
from playwright.sync_api import expect

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def created_by_admin(token_server: TokenServer) -> dict[str, Any]:
    answer = httpx.post(
        f"{token_server.server.base_url}/v1/shipments",
        json=NEW_SHIPMENT,
        headers={"Authorization": f"Bearer {token_server.tokens['admin']}"},
    )
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_without_a_token_the_console_asks_for_one_and_uses_it(
    pages: ConsolePages, token_server: TokenServer
) -> None:
    shipment = created_by_admin(token_server)
    page = pages.open(token_server.server, f"/ui/shipments/{shipment['id']}")

    expect(page.get_by_role("heading", name="Sign in with a token")).to_be_visible()
    expect(page.locator("#token-reason")).to_contain_text("401")
    page.get_by_label("Bearer token").fill(token_server.tokens["writer"])
    page.get_by_role("button", name="Use token").click()

    expect(page.locator("#identity")).to_contain_text("Signed in as writer-1 (writer)")
    expect(page.get_by_role("heading", name="Sign in with a token")).to_be_hidden()
    expect(page.locator(".timeline-entry")).to_have_count(1)
    assert (
        page.evaluate("sessionStorage.getItem('shipments-console.token')")
        == (token_server.tokens["writer"])
    )


def test_a_refused_token_is_asked_for_again(pages: ConsolePages, token_server: TokenServer) -> None:
    page = pages.open(token_server.server, "/ui/", token="not-a-token")

    expect(page.locator("#token-reason")).to_contain_text("refused the token (401)")
    page.get_by_label("Bearer token").fill(token_server.tokens["reader"])
    page.get_by_role("button", name="Use token").click()

    expect(page.locator("#identity")).to_contain_text("Signed in as reader-1 (reader)")
    expect(page.get_by_role("heading", name="Shipments", level=1)).to_be_visible()


def test_a_reader_sees_the_shipment_but_no_edit_form(
    pages: ConsolePages, token_server: TokenServer
) -> None:
    shipment = created_by_admin(token_server)
    page = pages.open(
        token_server.server,
        f"/ui/shipments/{shipment['id']}",
        token=token_server.tokens["reader"],
    )

    expect(page.locator(".timeline-entry")).to_have_count(1)
    expect(page.locator(".edit-area")).to_contain_text("Signed in with the reader role")
    expect(page.get_by_role("button", name="Save")).to_have_count(0)
    expect(page.get_by_label("Weight (lbs)")).to_have_count(0)


def test_a_writers_save_is_recorded_under_the_tokens_name(
    pages: ConsolePages, token_server: TokenServer
) -> None:
    shipment = created_by_admin(token_server)
    page = pages.open(
        token_server.server,
        f"/ui/shipments/{shipment['id']}",
        token=token_server.tokens["writer"],
    )
    expect(page.locator(".basis")).to_contain_text("Editing version 1;")

    page.get_by_label("Weight (lbs)").fill("900")
    page.get_by_role("button", name="Save").click()

    newest = page.locator('.timeline-entry[data-version="2"]')
    expect(newest.locator(".actor")).to_have_text("writer-1")
    expect(page.locator('.timeline-entry[data-version="1"] .actor')).to_have_text("admin-1")
