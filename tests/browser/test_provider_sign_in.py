"""With an identity provider configured, the console signs its user in there (code flow + PKCE)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.browser.conftest import NEW_SHIPMENT, ConsolePages
from tests.support.identity_provider import AUDIENCE, CLIENT_ID, RunningProvider, serve
from tests.support.servers import RunningServer, running_server

pytest.importorskip("playwright", reason="playwright is not installed (pip install -e '.[dev]')")
from playwright.sync_api import expect

pytestmark = [pytest.mark.slow, pytest.mark.browser]


@dataclass(frozen=True)
class ProviderServer:
    """A server trusting the provider's tokens, and the provider."""

    server: RunningServer
    provider: RunningProvider


@pytest.fixture(scope="module")
def provider_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProviderServer]:
    folder: Path = tmp_path_factory.mktemp("console-provider")
    with serve() as provider:
        provider.state.add_key("ec-1", "ES256")
        provider.state.users.update({"wanda": ["writer"], "rita": ["reader"]})
        environment = {
            "SHIPMENTS_OIDC_ISSUER": provider.issuer,
            "SHIPMENTS_OIDC_AUDIENCE": AUDIENCE,
            "SHIPMENTS_OIDC_CLIENT_ID": CLIENT_ID,
        }
        with running_server(
            f"sqlite:///{folder / 'shipments.db'}", folder, extra_env=environment
        ) as server:
            yield ProviderServer(server, provider)


def test_the_console_signs_in_at_the_provider_and_uses_its_token(
    pages: ConsolePages, provider_server: ProviderServer
) -> None:
    server, provider = provider_server.server, provider_server.provider
    writer = provider.state.token("wanda", ["writer"], "ec-1")
    created = httpx.post(
        f"{server.base_url}/v1/shipments",
        json=NEW_SHIPMENT,
        headers={"Authorization": f"Bearer {writer}"},
    ).json()
    page = pages.open(server, f"/ui/shipments/{created['id']}")

    expect(page.get_by_role("heading", name="Sign in with a token")).to_be_visible()
    page.get_by_role("button", name=f"Sign in with {provider.issuer}").click()
    expect(page.get_by_role("heading", name="Test provider sign-in")).to_be_visible()
    page.get_by_label("User name").fill("wanda")
    page.get_by_role("button", name="Sign in").click()

    expect(page.locator("#identity")).to_contain_text("Signed in as wanda (writer)")
    assert page.url == f"{server.base_url}/ui/shipments/{created['id']}"
    expect(page.locator(".timeline-entry")).to_have_count(1)
    expect(page.get_by_role("button", name="Save")).to_be_visible()
    token = page.evaluate("sessionStorage.getItem('shipments-console.token')")
    assert token.count(".") == 2
    assert token.split(".")[1] not in server.log()


def test_a_reader_signed_in_at_the_provider_sees_no_edit_form(
    pages: ConsolePages, provider_server: ProviderServer
) -> None:
    page = pages.open(provider_server.server, "/ui/")
    page.get_by_role("button", name=f"Sign in with {provider_server.provider.issuer}").click()
    page.get_by_label("User name").fill("rita")
    page.get_by_role("button", name="Sign in").click()

    expect(page.locator("#identity")).to_contain_text("Signed in as rita (reader)")
    expect(page.get_by_role("heading", name="Shipments", level=1)).to_be_visible()
    assert "code=" not in page.url


def test_a_sign_in_answer_for_another_tab_is_not_taken(
    pages: ConsolePages, provider_server: ProviderServer
) -> None:
    page = pages.open(provider_server.server, "/ui/?code=stolen&state=forged")
    expect(page.locator("#token-reason")).to_contain_text("does not belong to this tab")
    assert page.evaluate("sessionStorage.getItem('shipments-console.token')") is None
