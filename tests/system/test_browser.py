"""The page in real headless Chromium against a real server started for the test.

Digits are drawn from MNIST test images turned into strokes: every run of ink in every
row of the digit becomes one stroke, with mouse drags and with touch events.
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import numpy as np
import pytest
import requests

from model.training.synthetic import polygon_points
from tests.support.chromium import draw_with_mouse, strokes
from tests.support.images import CLEAR, data_url
from tests.support.server_process import TEACHER_HEADERS, TEACHER_TOKEN, free_port, running_server
from tests.support.waiting import wait_until

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``python -m server`` (what ``make run`` starts) on a free port and its own SQLite file."""
    with running_server(tmp_path_factory.mktemp("browser-server")) as base:
        yield base


@pytest.fixture
def touch_page(browser):
    context = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True)
    opened = context.new_page()
    yield opened
    context.close()


def draw_with_touch(page, paths) -> None:
    session = page.context.new_cdp_session(page)
    for path in paths:
        session.send(
            "Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": path[0][0], "y": path[0][1]}]}
        )
        (x0, y0), (x1, y1) = path[0], path[-1]
        for step in range(1, 5):
            point = {"x": x0 + (x1 - x0) * step / 4, "y": y0 + (y1 - y0) * step / 4}
            session.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [point]})
        session.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})


def pad_box(page) -> dict:
    return page.get_by_test_id("pad").bounding_box()


def wait_for_digit(page, digit: int) -> None:
    page.wait_for_function(
        "d => document.querySelector('[data-testid=prediction]').textContent === d", arg=str(digit), timeout=15000
    )


SCREENSHOTS = ROOT / "docs" / "screenshots"
DOCUMENTED = {"main", "kiosk", "dashboard", "phone"}  # the README shows these: each run makes them anew


def screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))
    if name in DOCUMENTED:
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


@pytest.mark.parametrize("label", [7, 2, 0, 4])
def test_mouse_drawing_is_read_live(server, page, mnist, label):
    page.goto(server)
    page.wait_for_selector("[data-testid=connection][data-state=connected]")
    assert page.get_by_test_id("prediction").text_content() == ""
    draw_with_mouse(page, strokes(mnist.x_test[CLEAR[label]], pad_box(page)))
    wait_for_digit(page, label)
    assert page.get_by_test_id("preview").get_attribute("src").startswith("data:image/png;base64,")
    bars = page.locator("[data-testid=probabilities] li.best")
    assert bars.get_attribute("data-digit") == str(label)
    page.wait_for_selector("[data-testid=feedback]:not([hidden])")
    assert f"{label}" in page.get_by_test_id("announce").text_content()
    words = page.get_by_test_id("confidence").text_content()
    assert re.match(r"^(Sure|Fairly sure|I think so|Not sure) \(\d+%\)", words), "calibrated words: " + words
    if label == 7:
        screenshot(page, "main")


def shape_strokes(kind: str, box: dict) -> list[list[tuple[float, float]]]:
    """A shape of ``model.training.synthetic`` (a star, a smiley...) drawn across the middle of the pad."""
    points = polygon_points(kind, np.random.default_rng(0))
    left, top, size = (
        box["x"] + 0.2 * box["width"],
        box["y"] + 0.2 * box["height"],
        0.6 * min(box["width"], box["height"]),
    )
    return [[(left + x * size, top + y * size) for x, y in stroke] for stroke in points]


def test_a_drawing_that_is_no_digit_is_called_so(server, page):
    page.goto(server)
    page.wait_for_selector("[data-testid=connection][data-state=connected]")
    draw_with_mouse(page, shape_strokes("star", pad_box(page)))
    page.wait_for_function(
        "() => document.querySelector('[data-testid=prediction]').textContent === '?'", timeout=15000
    )
    assert "not a digit" in page.get_by_test_id("confidence").text_content()
    assert "does not look like a digit" in page.get_by_test_id("hint").text_content()
    page.wait_for_function(
        "() => document.querySelector('[data-testid=feedback-question]').textContent === 'Was it a digit after all?'",
        timeout=15000,
    )
    page.wait_for_selector("[data-testid=feedback]:not([hidden])")
    assert page.get_by_test_id("confirm").is_hidden(), (
        "no 'Yes, it is ...' for a refusal; the digits stay to correct it"
    )
    screenshot(page, "not-a-digit")


COLOURED_HEAT = """() => {
  const data = document.querySelector('[data-testid=heatmap]').getContext('2d').getImageData(0, 0, 28, 28).data;
  let hot = 0;
  for (let i = 3; i < data.length; i += 4) hot += data[i] > 0;
  return hot;
}"""
LAYER_IMAGES = """() => [...document.querySelectorAll('[data-testid=layers] figure img')]
  .map(image => image.complete ? image.naturalWidth : 0)"""


def test_look_inside_shows_the_heat_map_and_the_layers_live(server, page, mnist):
    sent: list[str] = []
    errors: list[str] = []
    page.on("websocket", lambda socket: socket.on("framesent", lambda payload: sent.append(payload)))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.goto(server)
    page.wait_for_selector("[data-testid=connection][data-state=connected]")
    assert page.get_by_test_id("inside").is_hidden()
    page.get_by_test_id("look-inside").check()
    assert page.get_by_test_id("inside").is_visible()
    assert page.get_by_role("region", name="Inside the network").is_visible()
    draw_with_mouse(page, strokes(mnist.x_test[CLEAR[7]], pad_box(page)))
    wait_for_digit(page, 7)
    page.wait_for_selector("[data-testid=heatmap][data-state=shown]", timeout=10000)
    assert page.get_by_test_id("heatmap").is_visible()
    assert 0 < page.evaluate(COLOURED_HEAT) < 28 * 28, "the heat lies on part of the drawing, not everywhere"
    page.wait_for_function(f"() => ({LAYER_IMAGES})().length === 3 && ({LAYER_IMAGES})().every(w => w > 0)")
    captions = page.locator("[data-testid=layers] figcaption").all_text_contents()
    assert [caption.split(":")[0].split(" (")[0] for caption in captions] == ["Layer 1", "Layer 2", "Layer 3"]
    assert all(page.locator("[data-testid=layers] img").nth(i).get_attribute("alt") for i in range(3))
    assert any('"explain":true' in payload for payload in sent if isinstance(payload, str))
    screenshot(page, "look-inside")
    page.get_by_test_id("look-inside").uncheck()
    assert page.get_by_test_id("inside").is_hidden()
    assert page.get_by_test_id("heatmap").is_hidden()
    assert errors == []


def test_frames_travel_as_binary_png_not_base64(server, page, mnist):
    """The page sends each frame's PNG bytes as a Socket.IO binary attachment."""
    sent: list[str | bytes] = []
    page.on("websocket", lambda socket: socket.on("framesent", lambda payload: sent.append(payload)))
    page.goto(server)
    page.wait_for_selector("[data-testid=connection][data-state=connected]")
    draw_with_mouse(page, strokes(mnist.x_test[CLEAR[3]], pad_box(page)))
    wait_for_digit(page, 3)
    binary = [payload for payload in sent if isinstance(payload, bytes)]
    assert binary, "no binary websocket message"
    assert all(payload.startswith(b"\x89PNG") for payload in binary), "each attachment is a PNG"
    assert not [payload for payload in sent if isinstance(payload, str) and "data:image" in payload]
    frames = [payload for payload in sent if isinstance(payload, str) and '"frame"' in payload]
    assert len(frames) == len(binary), "one attachment per frame event"


def test_touch_drawing_on_a_phone(server, touch_page, mnist):
    touch_page.goto(server)
    touch_page.wait_for_selector("[data-testid=connection][data-state=connected]")
    scroll_before = touch_page.evaluate("window.scrollY")
    draw_with_touch(touch_page, strokes(mnist.x_test[CLEAR[1]], pad_box(touch_page)))  # vertical strokes
    wait_for_digit(touch_page, 1)
    assert touch_page.evaluate("window.scrollY") == scroll_before, "drawing never scrolls the page"
    screenshot(touch_page, "phone")


def test_feedback_round_trip_is_stored(server, page, mnist):
    page.goto(server)
    page.wait_for_selector("[data-testid=connection][data-state=connected]")
    draw_with_mouse(page, strokes(mnist.x_test[CLEAR[7]], pad_box(page)))
    wait_for_digit(page, 7)
    page.wait_for_selector("[data-testid=feedback]:not([hidden])")
    page.locator("[data-testid=choices] button[data-label='1']").click()
    page.wait_for_function("() => document.querySelector('[data-testid=thanks]').textContent.includes('Saved as 1')")

    def latest() -> dict:  # this test's drawing is the newest attempt
        return requests.get(f"{server}/api/attempts?limit=1", headers=TEACHER_HEADERS, timeout=5).json()["attempts"][0]

    wait_until(lambda: latest()["label"] == 1, what="the label in the store")
    newest = latest()
    assert newest["digit"] == 7
    assert newest["final"] is True
    assert newest["source"] == "canvas"
    assert uuid.UUID(newest["attempt_id"]).version == 7, "the page makes time-based attempt ids"
    image = requests.get(f"{server}/api/attempts/{newest['attempt_id']}/image", headers=TEACHER_HEADERS, timeout=5)
    assert image.headers["Content-Type"] == "image/png"
    owner_token = page.evaluate(f"sessionStorage.getItem('owner:{newest['attempt_id']}')")
    assert owner_token, "the page keeps its attempt's owner token"
    mine = {"X-Owner-Token": owner_token}
    assert requests.get(f"{server}/api/attempts/{newest['attempt_id']}", headers=mine, timeout=5).json()["label"] == 1


def test_clear_and_keyboard_shortcuts(server, page, mnist):
    page.goto(server)
    page.wait_for_selector("[data-testid=connection][data-state=connected]")
    draw_with_mouse(page, strokes(mnist.x_test[CLEAR[7]], pad_box(page)))
    wait_for_digit(page, 7)
    page.get_by_test_id("clear").click()
    assert page.get_by_test_id("prediction").text_content() == ""
    draw_with_mouse(page, strokes(mnist.x_test[CLEAR[7]], pad_box(page)))
    wait_for_digit(page, 7)
    page.keyboard.press("c")
    assert page.get_by_test_id("prediction").text_content() == ""


def test_kiosk_resets_after_idle(server, browser, mnist):
    page = browser.new_context(viewport={"width": 1920, "height": 1080}, has_touch=True).new_page()
    page.goto(f"{server}/?kiosk=1&idle=2")
    page.wait_for_selector("[data-testid=connection][data-state=connected]")
    assert page.evaluate("document.body.classList.contains('kiosk')")
    draw_with_mouse(page, strokes(mnist.x_test[CLEAR[2]], pad_box(page)))
    wait_for_digit(page, 2)
    screenshot(page, "kiosk")
    page.wait_for_selector("[data-testid=attract]:not([hidden])", timeout=10000)
    assert page.get_by_test_id("prediction").text_content() == ""
    page.get_by_test_id("attract").click()
    assert page.get_by_test_id("attract").is_hidden()
    page.context.close()


def test_dashboard_receives_another_clients_attempt_live(server, browser, page, mnist):
    dashboard = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    dashboard.goto(f"{server}/dashboard#token={TEACHER_TOKEN}")
    dashboard.wait_for_selector("[data-testid=connection][data-state=connected]")
    page.goto(server)
    page.wait_for_selector("[data-testid=connection][data-state=connected]")
    draw_with_mouse(page, strokes(mnist.x_test[CLEAR[0]], pad_box(page)))
    wait_for_digit(page, 0)
    page.wait_for_selector("[data-testid=feedback]:not([hidden])")
    read_digits = "[...document.querySelectorAll('[data-testid=feed] [data-testid=read]')].map(e => e.textContent)"
    dashboard.wait_for_function(f"() => {read_digits}.includes('0')", timeout=10000)
    page.get_by_test_id("confirm").click()
    labels = "[...document.querySelectorAll('[data-testid=feed] [data-testid=label]')].map(e => e.textContent)"
    dashboard.wait_for_function(f"() => {labels}.includes('✓ 0')", timeout=10000)
    dashboard.wait_for_selector("[data-testid=confusion] td.hit", timeout=10000)
    screenshot(dashboard, "dashboard")
    dashboard.context.close()


def test_a_dashboard_back_from_a_dropped_connection_shows_what_was_drawn_meanwhile(server, browser, seven_png):
    """Drawings finished while its socket was down never come as events: the reconnect reloads the feed."""
    dashboard = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    held = {"on": False}
    sockets = []

    def relay(socket) -> None:
        if held["on"]:  # the network is still down: no socket gets through
            socket.close()
            return
        sockets.append(socket)
        socket.connect_to_server()

    def polling(route) -> None:
        route.abort() if held["on"] else route.continue_()

    dashboard.route_web_socket("**/socket.io/**", relay)
    dashboard.route("**/socket.io/**", polling)
    dashboard.goto(f"{server}/dashboard#token={TEACHER_TOKEN}")
    dashboard.wait_for_selector("[data-testid=connection][data-state=connected]")
    held["on"] = True
    sockets[-1].close()
    dashboard.wait_for_selector("[data-testid=connection][data-state=offline]")
    drawn = requests.post(f"{server}/api/predict", files={"file": ("7.png", seven_png, "image/png")}, timeout=10)
    assert drawn.status_code == 200, drawn.text
    held["on"] = False
    dashboard.wait_for_selector("[data-testid=connection][data-state=connected]", timeout=20000)
    dashboard.wait_for_selector(f"[data-testid=feed] [data-attempt='{drawn.json()['attempt_id']}']", timeout=10000)
    dashboard.context.close()


def draw_in_room(browser, server: str, room: str, digit: np.ndarray, label: int) -> None:
    """A pupil's page opened with ``?room=``, in a browser context of its own, drawing one digit to the end."""
    pupil = browser.new_context(viewport={"width": 1100, "height": 800}).new_page()
    pupil.goto(f"{server}/?room={room}")
    pupil.wait_for_selector("[data-testid=connection][data-state=connected]")
    draw_with_mouse(pupil, strokes(digit, pad_box(pupil)))
    wait_for_digit(pupil, label)
    pupil.wait_for_selector("[data-testid=feedback]:not([hidden])")  # the final frame was answered
    pupil.context.close()


def test_a_rooms_dashboard_sees_its_rooms_drawings_only(server, browser, mnist):
    dashboard = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    dashboard.goto(f"{server}/dashboard?room=7B#token={TEACHER_TOKEN}")
    dashboard.wait_for_selector("[data-testid=connection][data-state=connected]")
    assert dashboard.get_by_test_id("room-code").text_content() == "7B"
    assert dashboard.url == f"{server}/dashboard?room=7B", "the key left the address bar, the room stayed"
    draw_in_room(browser, server, "8C", mnist.x_test[CLEAR[2]], 2)
    draw_in_room(browser, server, "7B", mnist.x_test[CLEAR[7]], 7)
    read_digits = "[...document.querySelectorAll('[data-testid=feed] [data-testid=read]')].map(e => e.textContent)"
    dashboard.wait_for_function(f"() => {read_digits}.includes('7')", timeout=10000)
    assert dashboard.evaluate(read_digits) == ["7"], "the drawing made in room 8C is not on 7B's dashboard"
    screenshot(dashboard, "dashboard-room")
    dashboard.context.close()


def stored_ids(server: str) -> list[str]:
    return [
        a["attempt_id"]
        for a in requests.get(f"{server}/api/attempts?limit=100", headers=TEACHER_HEADERS, timeout=5).json()["attempts"]
    ]


def test_history_lists_stored_attempts(server, page, seven_png):
    response = requests.post(f"{server}/api/predict", json={"image": data_url(seven_png)}, timeout=10)
    attempt_id = response.json()["attempt_id"]
    wait_until(lambda: attempt_id in stored_ids(server), what="the attempt in the store")
    page.goto(f"{server}/history#token={TEACHER_TOKEN}")
    card = page.locator(f"[data-testid=history] li[data-attempt='{attempt_id}']")
    card.locator("img").wait_for()
    assert card.get_by_test_id("read").text_content() == "7"


def test_page_has_no_console_errors_and_a_strict_csp(server, page):
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    response = page.goto(server)
    page.wait_for_selector("[data-testid=connection][data-state=connected]")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert errors == []


def test_narrow_screen_fits_without_horizontal_scroll(server, browser):
    context = browser.new_context(viewport={"width": 320, "height": 640})
    narrow = context.new_page()
    narrow.goto(server)
    assert narrow.evaluate("document.documentElement.scrollWidth") <= 320
    context.close()


def test_drawing_made_offline_is_classified_once_back(tmp_path, page, mnist):
    port = free_port()
    with running_server(tmp_path, port=port) as base:
        page.goto(base)
        page.wait_for_selector("[data-testid=connection][data-state=connected]")
    page.wait_for_selector("[data-testid=connection]:not([data-state=connected])", timeout=15000)
    draw_with_mouse(page, strokes(mnist.x_test[CLEAR[7]], pad_box(page)))
    page.get_by_test_id("submit").click()
    # Meanwhile the page answers by itself once its offline recognizer has loaded (docs/offline.md,
    # tests/system/test_offline.py), and keeps the drawing to deliver; before that it shows nothing.
    assert page.get_by_test_id("prediction").text_content() in ("", "7")
    with running_server(tmp_path, port=port) as base:
        page.wait_for_selector("[data-testid=connection][data-state=connected]", timeout=20000)
        wait_for_digit(page, 7)

        def sevens() -> list[dict]:
            found = requests.get(f"{base}/api/attempts", headers=TEACHER_HEADERS, timeout=5).json()["attempts"]
            return [attempt for attempt in found if attempt["final"] and attempt["digit"] == 7]

        wait_until(lambda: len(sevens()) == 1, what="the drawing stored once")
        page.wait_for_timeout(1000)
        assert len(sevens()) == 1


def test_number_mode_reads_a_row_of_digits(server, page, mnist):
    page.goto(server)
    page.wait_for_selector("[data-testid=connection][data-state=connected]")
    page.get_by_test_id("number-mode").check()
    gap = np.zeros((28, 8), dtype=np.uint8)
    row = np.concatenate([mnist.x_test[CLEAR[2]], gap, mnist.x_test[CLEAR[1]], gap, mnist.x_test[CLEAR[7]]], axis=1)
    draw_with_mouse(page, strokes(row, pad_box(page), margin=0.05))
    page.get_by_test_id("submit").click()
    page.wait_for_function(
        "() => document.querySelector('[data-testid=prediction]').textContent === '217'", timeout=15000
    )


def test_dashboard_promotes_a_model_version_and_rolls_back(tmp_path, browser):
    from tests.support.versions import make_version

    make_version(tmp_path / "models", "20990101-000000-next")
    with running_server(tmp_path) as base:
        builtin = requests.get(f"{base}/healthz", timeout=5).json()["model"]["version"]
        dashboard = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        failed = []  # every API call of the panel answers
        dashboard.on("response", lambda response: failed.append(response.url) if response.status >= 400 else None)
        dashboard.goto(f"{base}/dashboard#token={TEACHER_TOKEN}")
        dashboard.wait_for_selector("[data-testid=versions] tr[data-version='20990101-000000-next']")
        assert dashboard.get_by_test_id("retrain-state").text_content() == "No retrain yet."
        dashboard.get_by_test_id("promote-20990101-000000-next").click()
        dashboard.wait_for_function(
            "() => document.querySelector('[data-testid=model-message]').textContent.includes('Now serving')"
        )
        assert requests.get(f"{base}/healthz", timeout=5).json()["model"]["version"] == "20990101-000000-next"
        dashboard.get_by_test_id("rollback").click()
        dashboard.wait_for_function(
            "() => document.querySelector('[data-testid=model-message]').textContent.includes('Rolled back')"
        )
        assert requests.get(f"{base}/healthz", timeout=5).json()["model"]["version"] == builtin
        screenshot(dashboard, "dashboard-models")
        dashboard.context.close()
    assert failed == []


def printed_link(log: Path) -> str:
    """The dashboard link ``python -m server`` prints (a test server's output goes to its log)."""
    found = re.search(r"Teacher dashboard: (http[^\s\"]+)", log.read_text())
    assert found, "no dashboard link in the server's output"
    return found.group(1)


def test_the_printed_link_opens_the_dashboard_and_the_key_leaves_the_address_bar(tmp_path, browser, mnist):
    with running_server(tmp_path, TEACHER_TOKEN="") as base:
        link = printed_link(tmp_path / "server.log")
        key = (tmp_path / "teacher_token").read_text().strip()
        assert link == f"{base}/dashboard#token={key}"
        dashboard = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        dashboard.goto(link)
        dashboard.wait_for_selector("[data-testid=connection][data-state=connected]")
        assert "token" not in dashboard.url, "the key is removed from the address bar"
        assert dashboard.get_by_test_id("need-key").is_hidden()
        pupil = browser.new_context(viewport={"width": 1100, "height": 800}).new_page()
        pupil.goto(base)
        pupil.wait_for_selector("[data-testid=connection][data-state=connected]")
        draw_with_mouse(pupil, strokes(mnist.x_test[CLEAR[3]], pad_box(pupil)))
        wait_for_digit(pupil, 3)
        read_digits = "[...document.querySelectorAll('[data-testid=feed] [data-testid=read]')].map(e => e.textContent)"
        dashboard.wait_for_function(f"() => {read_digits}.includes('3')", timeout=10000)
        dashboard.reload()  # the key stays with the tab
        dashboard.wait_for_selector("[data-testid=connection][data-state=connected]")
        dashboard.wait_for_function(f"() => {read_digits}.includes('3')", timeout=10000)
        stranger = browser.new_context().new_page()  # no key: the page loads, its data does not
        stranger.goto(f"{base}/dashboard")
        stranger.wait_for_selector("[data-testid=need-key]:not([hidden])")
        assert stranger.get_by_test_id("feed").locator("li").count() == 0
        # The same tab, opened through the printed link, shows room 7B: drawings of 7B, not of 8C.
        dashboard.get_by_test_id("room-input").fill("7B")
        dashboard.get_by_test_id("room-input").press("Enter")
        dashboard.wait_for_function("() => document.querySelector('[data-testid=room-code]').textContent === '7B'")
        draw_in_room(browser, base, "8C", mnist.x_test[CLEAR[2]], 2)
        draw_in_room(browser, base, "7B", mnist.x_test[CLEAR[7]], 7)
        dashboard.wait_for_function(f"() => {read_digits}.includes('7')", timeout=10000)
        assert dashboard.evaluate(read_digits) == ["7"], "neither room 8C's drawing nor the default room's"
        for opened in (dashboard, pupil, stranger):
            opened.context.close()


def test_a_busy_frame_mid_drawing_is_sent_again_not_finished(server, page, mnist):
    """The server too busy for a frame while the pen is still down: the page sends that drawing again, as a
    frame, and finishes nothing (it sent a final frame, and asked for a label, under the pupil's pen)."""
    seen = {"finals": 0, "busy": False, "drop_image": False}

    def relay(socket) -> None:
        upstream = socket.connect_to_server()

        def from_page(message) -> None:
            if isinstance(message, bytes) and seen["drop_image"]:  # the refused frame's image
                seen["drop_image"] = False
                return
            if isinstance(message, str) and message.startswith("451-") and '"frame"' in message:
                frame = json.loads(message[message.index("[") :])[1]
                seen["finals"] += frame["final"]
                if not frame["final"] and not seen["busy"]:
                    seen["busy"] = seen["drop_image"] = True
                    refused = {"code": "busy", "message": "busy", **{key: frame[key] for key in ("attempt_id", "seq")}}
                    socket.send(f'42["error",{json.dumps(refused)}]')
                    return
            upstream.send(message)

        socket.on_message(from_page)

    page.route_web_socket("**/socket.io/**", relay)
    page.goto(server)
    page.wait_for_selector("[data-testid=connection][data-state=connected]")
    [first, *rest] = strokes(mnist.x_test[CLEAR[7]], pad_box(page))
    page.mouse.move(*first[0])
    page.mouse.down()
    for x, y in first[1:]:
        page.mouse.move(x, y, steps=4)
    page.wait_for_timeout(1500)  # the pen stays down, past the retry and the finishing pause
    assert seen["busy"]
    assert seen["finals"] == 0
    assert page.get_by_test_id("feedback").is_hidden()
    page.mouse.up()
    draw_with_mouse(page, rest)
    wait_for_digit(page, 7)
    page.wait_for_selector("[data-testid=feedback]:not([hidden])")
    assert seen["finals"] == 1
