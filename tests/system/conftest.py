"""Fixtures the system tests share: one headless Chromium for the whole run, and a fresh page in it."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from tests.support.chromium import CHROMIUM, CHROMIUM_FLAGS


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium driven by Playwright: missing, it fails the run (``make test`` installs it), never skips."""
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
