"""Kiosk mode that runs unattended, in real headless Chromium against a real server.

The attract screen draws a digit by itself and goes at the first touch; a drawing left alone gets a
visible countdown that "Keep drawing" cancels, and is cleared when it runs out; nothing on the pad and
buttons can be selected, zoomed or long-pressed; the kiosk's heartbeat reaches the teacher's dashboard.
"""

from __future__ import annotations

import pytest
import requests

from tests.support.chromium import draw_with_mouse, strokes
from tests.support.images import CLEAR
from tests.support.server_process import TEACHER_HEADERS, TEACHER_TOKEN, running_server
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow]

KIOSK_NAME = "Salle découverte -3"  # as the page sends it: letters of any script kept, "#" made "-"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with running_server(tmp_path_factory.mktemp("kiosk-server")) as base:
        yield base


def kiosks(base: str) -> dict[str, dict]:
    found = requests.get(f"{base}/api/kiosks", headers=TEACHER_HEADERS, timeout=10).json()["kiosks"]
    return {kiosk["kiosk_id"]: kiosk for kiosk in found}


def test_a_kiosk_runs_unattended(server, browser, mnist):
    context = browser.new_context(viewport={"width": 1920, "height": 1080}, has_touch=True)
    page = context.new_page()
    page.goto(f"{server}/?kiosk=1&kiosk_id=Salle%20d%C3%A9couverte%20%233&idle=3")  # "#" is not kept
    page.wait_for_selector("[data-testid=connection][data-state=connected]")
    locked = page.evaluate(
        """() => {
          const style = (selector) => getComputedStyle(document.querySelector(selector));
          const menu = new MouseEvent("contextmenu", { bubbles: true, cancelable: true });
          document.querySelector("[data-testid=pad]").dispatchEvent(menu);
          const button = new MouseEvent("contextmenu", { bubbles: true, cancelable: true });
          document.querySelector("[data-testid=submit]").dispatchEvent(button);
          return {
            select: style("body").userSelect,
            pad: style("[data-testid=pad]").touchAction,
            button: style("[data-testid=submit]").touchAction,
            overscroll: style("body").overscrollBehaviorY,
            viewport: document.querySelector("meta[name=viewport]").content,
            menus: [menu.defaultPrevented, button.defaultPrevented],
            wakeLock: document.documentElement.dataset.wakeLock ?? "none",
          };
        }"""
    )
    assert locked["select"] == "none"
    assert locked["pad"] == "none"
    assert locked["button"] == "none"  # no pinch or double-tap zoom on the buttons
    assert locked["overscroll"] == "none"  # no pull-to-refresh
    assert "user-scalable" not in locked["viewport"]  # the rest of the page can be zoomed (WCAG 1.4.4)
    assert locked["menus"] == [True, True]
    assert locked["wakeLock"] in {"on", "refused", "none"}

    wait_until(lambda: KIOSK_NAME in kiosks(server), timeout=15, what="the kiosk's first heartbeat")
    assert kiosks(server)[KIOSK_NAME]["state"] == "online"

    draw_with_mouse(page, strokes(mnist.x_test[CLEAR[4]], page.get_by_test_id("pad").bounding_box()))
    page.wait_for_function("() => document.querySelector('[data-testid=prediction]').textContent === '4'")
    countdown = page.wait_for_selector("[data-testid=countdown]:not([hidden])", timeout=10000)
    assert "Starting over in" in countdown.text_content()
    page.get_by_test_id("keep-drawing").click()  # the visitor is still there
    assert page.get_by_test_id("countdown").is_hidden()
    assert page.get_by_test_id("prediction").text_content() == "4"
    page.wait_for_selector("[data-testid=countdown]:not([hidden])", timeout=10000)
    page.wait_for_selector("[data-testid=attract]:not([hidden])", timeout=10000)  # ran out: a clean pad
    assert page.get_by_test_id("prediction").text_content() == ""
    assert page.get_by_test_id("attract").text_content().strip().startswith("Draw a digit")
    page.wait_for_timeout(1200)
    inked = page.evaluate(
        """() => {
          const canvas = document.querySelector("[data-testid=attract-digit]");
          const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
          let ink = 0;
          for (let i = 3; i < pixels.length; i += 4) ink += pixels[i] > 0;
          return ink;
        }"""
    )
    assert inked > 500, "the attract screen's digit draws itself"
    page.get_by_test_id("attract").tap()
    assert page.get_by_test_id("attract").is_hidden()

    dashboard = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    dashboard.goto(f"{server}/dashboard#token={TEACHER_TOKEN}")
    listed = f"[data-testid=kiosks]:not([hidden]) tr[data-kiosk='{KIOSK_NAME}']"
    row = dashboard.wait_for_selector(listed, timeout=15000)
    assert row.get_attribute("data-state") == "online"
    assert "Online" in row.text_content()
    dashboard.context.close()
    context.close()
