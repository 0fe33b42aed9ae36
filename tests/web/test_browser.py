"""The page in a real browser: Playwright driving Debian's chromium.

Screenshots are kept as artifacts: in ``$SLEUTH_ARTIFACTS/web/`` when that
variable is set, else in ``screenshots/`` under the test's pytest tmp path.
Skips (saying why) without chromium or Playwright, except under
``SLEUTH_REQUIRE_SERVICES=1``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sleuth.web.server import start_in_thread
from tests.required import skip_unless_required
from tests.web.conftest import CANARY_DSN_PASSWORD, CANARY_KEY

CHROMIUM = "/usr/bin/chromium"
# Read at import: the autouse clean_environ fixture clears SLEUTH_* variables.
ARTIFACTS_ROOT = os.environ.get("SLEUTH_ARTIFACTS")


@pytest.fixture
def browser() -> Iterator[Any]:
    if not os.access(CHROMIUM, os.X_OK):
        skip_unless_required(f"no browser at {CHROMIUM} (make browser installs it)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_unless_required("Playwright is not installed (make install adds it)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def artifacts(tmp_path: Path) -> Path:
    folder = (
        Path(ARTIFACTS_ROOT) / "web" if ARTIFACTS_ROOT else tmp_path / "screenshots"
    )
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_a_person_sees_the_failure_first_its_cause_and_its_evidence(
    browser: Any, incident_store: str, artifacts: Path
):
    with start_in_thread("127.0.0.1:0", history_url=incident_store) as server:
        page = browser.new_page(java_script_enabled=False)  # it needs none
        page.set_default_timeout(15_000)
        page.goto(server.url + "/")
        page.screenshot(path=str(artifacts / "status.png"), full_page=True)

        assert page.title() == "sleuth: failing"
        rows = page.locator("tr.probe")
        assert rows.count() == 5
        first = rows.nth(0)
        assert first.get_attribute("data-probe") == "test_shop.py::test_orders"
        assert "failing" in (first.get_attribute("class") or "")
        assert (
            "fails from eu-1, passes from us-1: "
            "compare the evidence from eu-1 with that from us-1"
        ) in (first.inner_text())
        assert rows.nth(4).get_attribute("data-probe") == "test_shop.py::test_home"
        causes = page.locator(".causes li")
        assert (
            causes.nth(0).inner_text().startswith("test_orders: GET http://127.0.0.1:")
        )
        assert "(blocks 1 probe)" in causes.nth(0).inner_text()
        assert causes.nth(0).is_visible()
        states = {
            rows.nth(i).get_attribute("data-probe"): rows.nth(i)
            .locator("td")
            .nth(1)
            .inner_text()
            for i in range(5)
        }
        assert states["test_shop.py::test_search"].startswith("error (timeout)")
        assert states["test_shop.py::test_cancel"].startswith("failed (write-refused)")
        assert states["test_shop.py::test_order_detail"].startswith("blocked")

        first.locator("a").click()
        page.wait_for_load_state()
        page.screenshot(path=str(artifacts / "probe.png"), full_page=True)
        assert page.locator("h1").inner_text().startswith("test_shop.py::test_orders")
        evidence = page.locator("section.evidence").nth(0)
        assert "Evidence: run 3 from eu-1" in evidence.inner_text()
        assert "503 Service Unavailable" in evidence.inner_text()
        assert page.locator("table.timeline tbody tr").count() == 4
        text = page.content()
        assert CANARY_KEY not in text
        assert CANARY_DSN_PASSWORD not in text
    assert (artifacts / "status.png").stat().st_size > 0
    assert (artifacts / "probe.png").stat().st_size > 0
