"""``/docs`` and ``/redoc`` render the API with no network beyond the server itself."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.support.servers import RunningServer

pytest.importorskip("playwright", reason="playwright is not installed (pip install -e '.[dev]')")
from playwright.sync_api import Browser, Route, expect

pytestmark = [pytest.mark.slow, pytest.mark.browser]


@pytest.mark.parametrize(
    ("path", "shows"),
    [("/docs", "createShipment"), ("/redoc", "Create a shipment (DRAFT, version 1)")],
)
def test_the_api_docs_render_with_every_other_host_unreachable(
    browser: Browser, console_server: RunningServer, path: str, shows: str
) -> None:
    own_host = urlsplit(console_server.base_url).netloc
    elsewhere: list[str] = []

    def only_the_server(route: Route) -> None:
        if urlsplit(route.request.url).netloc == own_host:
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    context = browser.new_context()
    try:
        context.route("**/*", only_the_server)
        page = context.new_page()
        page.goto(console_server.base_url + path)
        if path == "/docs":
            expect(page.locator(".swagger-ui .information-container")).to_contain_text(
                "Shipment service"
            )
            expect(page.locator(f"#operations-shipments-{shows}")).to_be_visible()
        else:
            expect(page.get_by_role("heading", name=shows)).to_be_visible()
        page.wait_for_load_state("networkidle")  # whatever the page loads late, too
    finally:
        context.close()
    assert elsewhere == []
