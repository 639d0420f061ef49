"""Shared fixtures for govlink's own test suite.

The mock-server fixtures (``govlink_mock``, ``govlink_client``, ``govlink_mock_app``…)
come from govlink's pytest plugin (``govlink.testing.plugin``, loaded through its
entry point), exactly as in a vendor's project. This file adds what only govlink's
suite needs: ``pytester`` (to run the plugin from outside) and one headless Chromium
per test module for the browser tests.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest_plugins = ["pytester"]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _missing_system_dep(reason: str) -> None:
    """Skip locally; fail in CI (GOVLINK_REQUIRE_SYSTEM_DEPS=1), where it is a setup bug."""
    if os.environ.get("GOVLINK_REQUIRE_SYSTEM_DEPS") == "1":
        pytest.fail(f"{reason} (GOVLINK_REQUIRE_SYSTEM_DEPS=1: run 'make system-deps')")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def chromium_browser() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright (sync API), one per test module.

    Use it from sync tests (``page = chromium_browser.new_page()``; close the page or
    its context at the end). Never downloads a browser.

    Module scope, not session: while Playwright's sync API is active it keeps an
    asyncio loop marked as running in the main thread, so every async test would
    fail with "cannot be called from a running event loop". Keep async tests out of
    modules that use this fixture.
    """
    if not CHROMIUM.exists():
        _missing_system_dep(f"{CHROMIUM} is not installed")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing_system_dep("the playwright package is not installed")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
