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


ACCENT = (0xC8, 0x10, 0x2E)  # --accent: the detail drawer's left border


def _accent_column(png: bytes, x: int, top: int, bottom: int) -> float:
    """Share of the pixels at column ``x`` (±2) between ``top`` and ``bottom`` that have
    the accent colour: the drawer's border really painted in the viewport."""
    from io import BytesIO

    from PIL import Image

    image = Image.open(BytesIO(png)).convert("RGB")
    hits = 0
    for y in range(top, bottom):
        if any(
            all(abs(c - a) < 24 for c, a in zip(image.getpixel((x + dx, y)), ACCENT, strict=True))
            for dx in range(-2, 3)
            if 0 <= x + dx < image.width
        ):
            hits += 1
    return hits / max(bottom - top, 1)


def test_the_journal_comes_first_and_a_clicked_entry_opens_in_view(
    chromium_browser: Any, govlink_mock: MockHandle, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    width, height = 1280, 720
    token_url = f"{govlink_mock.url('gateway')}/token"
    form = {"grant_type": "client_credentials"}
    with httpx.Client(trust_env=False) as http:
        for _ in range(60):
            http.post(token_url, data=form, auth=(KEY, SECRET))
    # one request still waiting for its reply: journaled on arrival, shown as pending
    govlink_mock.set_fault(platform="gateway", path="/api/ping", latency_ms=8000, count=1)
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(f"{govlink_mock.url('gateway')}/api/ping", timeout=0.3, trust_env=False)

    page = chromium_browser.new_page(viewport={"width": width, "height": height})
    try:
        page.goto(govlink_mock.dashboard_url)
        rows = page.locator("#journal tbody tr")
        expect(rows).to_have_count(61)
        # without scrolling: the journal, its newest rows and the pending request are there
        first = rows.nth(0)
        expect(first).to_be_in_viewport()
        assert first.locator(".status").inner_text() == "pending"
        assert first.locator(".status").get_attribute("class") == "status sp"
        title_box = page.locator("#journal-title").bounding_box()
        assert title_box is not None
        assert title_box["y"] < 120  # right under the top bar, not under platform cards
        assert page.evaluate("window.scrollY") == 0

        # scroll far down the journal, click the oldest entry: its detail opens in view
        page.locator(".journal-scroll").evaluate("el => { el.scrollTop = el.scrollHeight; }")
        page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
        last = rows.nth(60)
        last.click()
        detail = page.locator("#detail")
        expect(detail).to_be_visible()
        expect(page.locator("#detail-response")).to_contain_text('"access_token"')
        expect(page.locator("#detail-title")).to_be_in_viewport()
        expect(page.locator("#detail-request")).to_be_in_viewport()
        box = detail.bounding_box()
        assert box is not None
        assert box["x"] >= 0
        assert box["y"] >= 0
        assert box["x"] + box["width"] <= width + 1
        assert box["y"] + box["height"] <= height + 1

        shot = Path(os.environ.get("GOVLINK_SCREENSHOT_DIR", tmp_path)) / "dashboard-detail.png"
        png = page.screenshot(path=str(shot))  # the viewport, as a person sees it
        assert _accent_column(png, int(box["x"]) + 1, 40, height - 40) > 0.9

        page.keyboard.press("Escape")
        expect(detail).to_be_hidden()
    finally:
        page.close()


def test_the_dashboard_sends_the_admin_token_it_was_opened_with(chromium_browser: Any) -> None:
    from playwright.sync_api import expect

    from mock_servers.server import MockServer

    with MockServer(admin_token="dash-token-42", mask_credentials=True) as server:
        httpx.post(
            f"{server.base_url}/gateway/token",
            data={"grant_type": "client_credentials"},
            auth=(KEY, SECRET),
            trust_env=False,
        )
        page = chromium_browser.new_page()
        try:
            page.goto(f"{server.admin_url}/ui/#token=dash-token-42")
            rows = page.locator("#journal tbody tr")
            expect(rows).to_have_count(1)
            assert "dash-token-42" not in page.url  # the fragment is dropped once stored
            rows.first.click()
            expect(page.locator("#detail-request")).to_contain_text("authorization: ***")
        finally:
            page.close()
        unauthorised = chromium_browser.new_page()
        try:
            unauthorised.goto(f"{server.admin_url}/ui/")
            expect(unauthorised.locator("#status-line")).to_contain_text("HTTP 401")
        finally:
            unauthorised.close()
