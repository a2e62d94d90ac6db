"""The console in a real browser: a real ``shipments serve``, Debian's Chromium, Playwright.

Chromium is never downloaded: it is the one on the PATH (``CHROMIUM`` names another).
Without it these tests are skipped with the reason, except under ``CI=true``, where a
missing browser fails the run. A failing test leaves a screenshot, the page's console
and the server's log in ``test-artifacts/`` (``CONSOLE_TEST_ARTIFACTS`` names another).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.cli.tokens import configured_token_store
from infrastructure.settings import Settings
from tests.support.servers import REPO_ROOT, RunningServer, running_server

try:
    from playwright.sync_api import Browser, ConsoleMessage, Page, expect, sync_playwright
except ImportError:  # pragma: no cover - the dev extras install it
    if os.environ.get("CI") == "true":
        raise
    sync_playwright = None  # the test modules skip themselves, saying why

BROWSER_NAMES = ("chromium", "chromium-browser", "google-chrome", "chrome")
TIMEOUT_MILLISECONDS = 15_000
DESKTOP = {"width": 1280, "height": 800}
MERGE_PATCH = "application/merge-patch+json"
# Answers the console shows to its user by design; Chromium logs each one it receives
# as "Failed to load resource", which is not a fault of the page.
SHOWN_ANSWERS = re.compile(
    r"Failed to load resource: the server responded with a status of (401|403|409|412|422)\b"
)

NEW_SHIPMENT: dict[str, Any] = {
    "shipmentType": "UHAUL",
    "requestedPickupDate": "2026-05-28",
    "deliveryDate": "2026-06-01",
    "destinationAddress": {
        "streetAddress1": "812 S 129th Street",
        "city": "San Diego",
        "state": "CA",
        "postalCode": "92102",
    },
}


def chromium_executable() -> str | None:
    """The Chromium to drive: ``$CHROMIUM``, else the first browser found on the PATH."""
    if os.environ.get("CHROMIUM"):
        return os.environ["CHROMIUM"]
    for name in BROWSER_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def unavailable(reason: str) -> None:
    """Skip, or fail under CI: there a missing browser must not pass as green."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: the browser tests must run)")
    pytest.skip(reason)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Keep each phase's report on the test, so fixtures know at teardown if it failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the browser tests, closed after them.

    Package scope, not session: Playwright's sync API keeps an event loop running in
    this thread while it is open, and later tests call ``asyncio.run``.
    """
    if sync_playwright is None:
        unavailable("playwright is not installed (pip install -e '.[dev]')")
    executable = chromium_executable()
    if executable is None:
        unavailable("no Chromium found on the PATH (apt-get install chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable)
        expect.set_options(timeout=TIMEOUT_MILLISECONDS)
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def console_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A server on its own SQLite file, open (no token configured), as ``make run`` serves."""
    folder = tmp_path_factory.mktemp("console-open")
    with running_server(f"sqlite:///{folder / 'shipments.db'}", folder) as server:
        yield server


@dataclass(frozen=True)
class TokenServer:
    """A server that requires tokens, and one token per role."""

    server: RunningServer
    tokens: dict[str, str]


@pytest.fixture(scope="session")
def token_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TokenServer]:
    """A server with tokens ``reader-1``, ``writer-1`` and ``admin-1`` configured."""
    folder = tmp_path_factory.mktemp("console-tokens")
    url = f"sqlite:///{folder / 'shipments.db'}"
    with configured_token_store(Settings(database_url=url)) as store:
        tokens = {role: store.add(f"{role}-1", role) for role in ("reader", "writer", "admin")}
    with running_server(url, folder) as server:
        yield TokenServer(server, tokens)


@dataclass
class ConsoleLog:
    """What a page wrote to its console, and the errors among it that are faults."""

    lines: list[str] = field(default_factory=list)
    faults: list[str] = field(default_factory=list)

    def record(self, message: ConsoleMessage) -> None:
        self.lines.append(f"{message.type}: {message.text}")
        if message.type == "error" and not SHOWN_ANSWERS.search(message.text):
            self.faults.append(message.text)

    def record_page_error(self, error: Exception) -> None:
        self.lines.append(f"pageerror: {error}")
        self.faults.append(f"uncaught: {error}")


@dataclass
class ConsolePages:
    """Opens console pages; every page opened is checked for console errors afterwards."""

    browser: Browser
    opened: list[tuple[Page, ConsoleLog, RunningServer]] = field(default_factory=list)

    def open(
        self,
        server: RunningServer,
        path: str = "/ui/",
        *,
        token: str | None = None,
        viewport: dict[str, int] | None = None,
    ) -> Page:
        """A new tab (its own session storage; ``token`` already in it) at ``path``."""
        context = self.browser.new_context(viewport=viewport or DESKTOP, timezone_id="UTC")
        if token is not None:
            context.add_init_script(
                f"sessionStorage.setItem('shipments-console.token', {token!r});"
            )
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MILLISECONDS)
        log = ConsoleLog()
        page.on("console", log.record)
        page.on("pageerror", log.record_page_error)
        self.opened.append((page, log, server))
        page.goto(server.base_url + path)
        return page


@pytest.fixture
def pages(browser: Browser, request: pytest.FixtureRequest) -> Iterator[ConsolePages]:
    """Console tabs; after the test, no console errors, and artifacts if it failed."""
    opened = ConsolePages(browser)
    yield opened
    report = getattr(request.node, "report_call", None)
    failed = report is not None and report.failed
    try:
        if failed:
            save_artifacts(request.node.name, opened)
        faults = [f"{page.url}: {fault}" for page, log, _ in opened.opened for fault in log.faults]
    finally:
        for page, _, _ in opened.opened:
            page.context.close()
    if faults and not failed:
        pytest.fail("console errors:\n" + "\n".join(faults))


def save_artifacts(test_name: str, opened: ConsolePages) -> None:
    """A screenshot and the console of every tab, and the server's log, for a failed test."""
    root = Path(os.environ.get("CONSOLE_TEST_ARTIFACTS", REPO_ROOT / "test-artifacts"))
    folder = root / re.sub(r"[^A-Za-z0-9_.-]+", "_", test_name)
    folder.mkdir(parents=True, exist_ok=True)
    for number, (page, log, server) in enumerate(opened.opened, start=1):
        try:
            page.screenshot(path=str(folder / f"page-{number}.png"), full_page=True)
        except Exception as error:  # noqa: BLE001 - a page that cannot be shot still has a log
            log.lines.append(f"(no screenshot: {error})")
        (folder / f"page-{number}-console.log").write_text(f"{page.url}\n" + "\n".join(log.lines))
        (folder / f"page-{number}-server.log").write_text(server.log())


@pytest.fixture
def api(console_server: RunningServer) -> Iterator[httpx.Client]:
    """Another client of the open server, writing over HTTP while the console looks on."""
    with httpx.Client(base_url=console_server.base_url, timeout=30.0) as client:
        yield client


def create_shipment(client: httpx.Client, request_id: str, **fields: Any) -> dict[str, Any]:
    """POST a shipment (``fields`` override the defaults); its body."""
    answer = client.post(
        "/v1/shipments", json={**NEW_SHIPMENT, **fields}, headers={"X-Request-ID": request_id}
    )
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


def patch_shipment(
    client: httpx.Client, shipment: dict[str, Any], changes: dict[str, Any], request_id: str
) -> dict[str, Any]:
    """PATCH ``changes`` onto ``shipment`` with its tag, as another writer would; the new body."""
    answer = client.patch(
        f"/v1/shipments/{shipment['id']}",
        json=changes,
        headers={
            "If-Match": f'"{shipment["eTag"]}"',
            "Content-Type": MERGE_PATCH,
            "X-Request-ID": request_id,
        },
    )
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def wait_for_live_updates(page: Page) -> None:
    """Until the page follows the change feed (a write before that would not be pushed)."""
    expect(page.locator("#feed-status")).to_have_text("Live updates on.")
