"""The dashboard at ``/__admin/ui`` in headless Chromium, after real traffic."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from govlink.testing import MockHandle

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

KEY, SECRET = "govlink-demo", "demo-gateway-secret"


def _traffic(mock: MockHandle) -> None:
    token_url = f"{mock.url('gateway')}/token"
    form = {"grant_type": "client_credentials"}
    with httpx.Client(trust_env=False) as http:
        http.post(token_url, data=form, auth=(KEY, SECRET))  # 200
        mock.set_fault(platform="gateway", path="/token", status=503, count=1, name="gateway down")
        http.post(token_url, data=form, auth=(KEY, SECRET))  # 503 (fault)
        http.post(token_url, data=form, auth=(KEY, "wrong-secret"))  # 401
        # untrusted text in the journal must be shown as text, never as markup
        http.get(f"{mock.url('gateway')}/<img src=x onerror=alert(1)>")
    mock.advance_clock(3600)


def test_dashboard_shows_journal_state_clock_and_faults(
    chromium_browser: Any, govlink_mock: MockHandle, tmp_path: Path
) -> None:
    from playwright.sync_api import expect  # importable: the fixture checked

    _traffic(govlink_mock)
    page = chromium_browser.new_page(viewport={"width": 1280, "height": 1000})
    try:
        page.goto(govlink_mock.dashboard_url)
        page.wait_for_selector("#journal tbody tr")
        rows = page.locator("#journal tbody tr")
        assert rows.count() == 4
        assert page.title() == "govlink mock platforms"

        # newest first, status colours by class
        first_status = rows.nth(0).locator(".status")
        assert first_status.inner_text() == "404"
        statuses = {
            rows.nth(i).locator(".status").inner_text(): rows.nth(i)
            .locator(".status")
            .get_attribute("class")
            for i in range(4)
        }
        assert statuses["200"] == "status s2"
        assert statuses["401"] == "status s4"
        assert statuses["503"] == "status s5"
        assert "status" in rows.nth(2).locator(".badge-fault").inner_text()  # the 503 row

        # the hostile path is text, not an element
        assert "<img src=x onerror=alert(1)>" in rows.nth(0).locator(".path").inner_text()
        assert page.locator("#journal img").count() == 0

        # platform state, clock, faults
        gateway = page.locator('[data-platform="gateway"]')
        assert "running" in gateway.inner_text()
        assert "tokens issued" in gateway.inner_text()
        assert page.locator("#clock-offset").inner_text().startswith("+1h")
        fault_row = page.locator("#faults tbody tr").first
        assert "HTTP 503" in fault_row.inner_text()
        assert "gateway down" in fault_row.inner_text()
        assert "spent" in fault_row.inner_text()

        # the filter box narrows the journal; a click shows the exchange
        page.fill("#journal-filter", "503")
        expect(rows).to_have_count(1)
        page.fill("#journal-filter", "")
        expect(rows).to_have_count(4)
        rows.nth(3).click()  # the details are fetched on click: let playwright wait for them
        expect(page.locator("#detail-request")).to_contain_text("grant_type=client_credentials")
        expect(page.locator("#detail-response")).to_contain_text('"access_token"')
        expect(page.locator("#detail-title")).to_have_text(re.compile(r"#\d+ POST /gateway/token$"))

        # auto-refresh picks up new traffic without a reload
        httpx.post(
            f"{govlink_mock.url('gateway')}/introspect", data={"token": "x"}, trust_env=False
        )
        page.wait_for_function("document.querySelectorAll('#journal tbody tr').length === 5")

        shot = Path(os.environ.get("GOVLINK_SCREENSHOT_DIR", tmp_path)) / "dashboard.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 10_000
    finally:
        page.close()


def test_dashboard_when_nothing_happened_yet(
    chromium_browser: Any, govlink_mock: MockHandle
) -> None:
    page = chromium_browser.new_page()
    try:
        page.goto(govlink_mock.dashboard_url)
        page.wait_for_selector('[data-platform="gateway"]')
        assert page.locator("#journal-empty").is_visible()
        assert page.locator("#faults-empty").is_visible()
        assert not page.locator("#clock-offset").is_visible()
    finally:
        page.close()
