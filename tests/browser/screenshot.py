"""Take ``docs/console.png``: the console at 1280x800 on a shipment with some history.

    .venv/bin/python -m tests.browser.screenshot [docs/console.png]

Starts its own server on a temporary store, writes a few versions as two people
would, and shoots the page in the same Chromium the browser tests drive.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import httpx
from playwright.sync_api import expect, sync_playwright

from api.cli.tokens import configured_token_store
from infrastructure.settings import Settings
from tests.browser.conftest import DESKTOP, MERGE_PATCH, NEW_SHIPMENT, chromium_executable
from tests.support.servers import REPO_ROOT, running_server

EDITS = [
    ("dispatch", {"weightLbs": 4200, "requestedPickupDate": "2026-05-26"}),
    ("dispatch", {"status": "SUBMITTED"}),
    (
        "customer-desk",
        {
            "customerRemarks": "Piano in the living room; call before arrival.",
            "pickupAddress": {
                "streetAddress1": "1 Main Street",
                "city": "Austin",
                "state": "TX",
                "postalCode": "73301",
            },
        },
    ),
    ("dispatch", {"status": "APPROVED", "deliveryDate": "2026-06-03"}),
]


def main(target: Path) -> None:
    executable = chromium_executable()
    if executable is None:
        raise SystemExit("no Chromium on the PATH (apt-get install chromium)")
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'shipments.db'}"
        with configured_token_store(Settings(database_url=url)) as store:
            tokens = {name: store.add(name, "writer") for name in ("dispatch", "customer-desk")}
        with running_server(url, Path(folder)) as server:
            shipment_id = write_history(server.base_url, tokens)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=executable)
                context = browser.new_context(viewport=DESKTOP, timezone_id="UTC")
                context.add_init_script(
                    f"sessionStorage.setItem('shipments-console.token', {tokens['dispatch']!r});"
                )
                page = context.new_page()
                page.goto(f"{server.base_url}/ui/shipments/{shipment_id}?version=4")
                expect(page.locator(".timeline-entry")).to_have_count(5)
                expect(page.locator("#feed-status")).to_have_text("Live updates on.")
                page.screenshot(path=str(target), type="png")
                browser.close()
    print(f"wrote {target} ({target.stat().st_size // 1024} KiB)")


def write_history(base_url: str, tokens: dict[str, str]) -> str:
    """One shipment at version 5, written by two token holders."""
    with httpx.Client(base_url=base_url, timeout=30.0) as client:
        created = client.post(
            "/v1/shipments",
            json=NEW_SHIPMENT,
            headers={"Authorization": f"Bearer {tokens['dispatch']}"},
        ).json()
        tag = f'"{created["eTag"]}"'
        for number, (who, changes) in enumerate(EDITS, start=1):
            answer = client.patch(
                f"/v1/shipments/{created['id']}",
                json=changes,
                headers={
                    "Authorization": f"Bearer {tokens[who]}",
                    "If-Match": tag,
                    "Content-Type": MERGE_PATCH,
                    "X-Request-ID": f"{who}-{number}",
                },
            )
            answer.raise_for_status()
            tag = answer.headers["ETag"]
        return str(created["id"])


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else REPO_ROOT / "docs" / "console.png")
