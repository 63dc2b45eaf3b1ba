"""Fixtures the system tests share: headless Chromium (one per test module), and a fresh page in it."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from tests.support.chromium import CHROMIUM, CHROMIUM_FLAGS


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium driven by Playwright: missing, it fails the run (``make test`` installs it), never skips.

    One per test module, closed at its end: Playwright's sync API keeps an event loop running in this
    thread while it is open, and the tests that speak Socket.IO by hand (asyncio.run) need it gone."""
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: run scripts/install-chromium.sh"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser):
    """A page in a context of its own (its own storage, as another device would have), desktop-sized."""
    context = browser.new_context(viewport={"width": 1100, "height": 800})
    opened = context.new_page()
    yield opened
    context.close()
