"""The wall for the projector (``/wall``) in real headless Chromium against a real server.

A pupil draws on the drawing page in the teacher's class; the wall shows it, with the digit read, the
class's code and its QR code (read back from the pixels Chromium draws); the teacher hides a drawing
and deletes another from the wall, from the keyboard, and every wall watching the class drops them;
the lesson downloads as CSV and ZIP. Languages and axe-core on the wall: tests/system/test_i18n.py.
"""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import pytest
import requests
import zxingcpp
from PIL import Image

from tests.support.chromium import draw_with_mouse, strokes
from tests.support.images import CLEAR
from tests.support.server_process import TEACHER_HEADERS, TEACHER_TOKEN, running_server
from tests.support.waiting import wait_until

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"
WALL_VIEWPORT = {"width": 1280, "height": 800}
TILE = "[data-testid=wall] [data-attempt='{}']"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with running_server(tmp_path_factory.mktemp("wall-server")) as base:
        yield base


@pytest.fixture
def pages(browser):
    """New pages, each in a context of its own (its own sessionStorage, as another device would have)."""
    contexts = []

    def new_page(viewport: dict | None = None, **options):
        context = browser.new_context(viewport=viewport or WALL_VIEWPORT, **options)
        contexts.append(context)
        page = context.new_page()
        page.page_errors = []
        page.on("pageerror", lambda error: page.page_errors.append(str(error)))
        return page

    yield new_page
    for context in contexts:
        context.close()


def open_class(server: str, name: str) -> dict:
    response = requests.post(f"{server}/api/rooms", json={"name": name}, headers=TEACHER_HEADERS, timeout=10)
    assert response.status_code == 201, response.text
    return response.json()


def open_wall(page, server: str, code: str) -> None:
    page.goto(f"{server}/wall?room={code}#token={TEACHER_TOKEN}")
    page.wait_for_selector("[data-testid=connection][data-state=connected]", timeout=15000)


def draw_seven(page, mnist) -> str:
    """Draw a 7 on the pupil's page and wait until it is finished; the attempt's id from the server's list."""
    page.wait_for_selector("[data-testid=connection][data-state=connected]", timeout=15000)
    draw_with_mouse(page, strokes(mnist.x_test[CLEAR[7]], page.get_by_test_id("pad").bounding_box()))
    page.wait_for_function(
        "() => document.querySelector('[data-testid=prediction]').textContent === '7'", timeout=15000
    )
    page.wait_for_selector("[data-testid=feedback]:not([hidden])", timeout=15000)


def attempts_of(server: str, code: str) -> list[dict]:
    response = requests.get(f"{server}/api/attempts?room={code}", headers=TEACHER_HEADERS, timeout=5)
    return response.json()["attempts"]


def newest_tile(wall) -> str:
    wall.wait_for_selector("[data-testid=wall] [data-testid=tile]", timeout=15000)
    return wall.locator("[data-testid=wall] [data-testid=tile]").first.get_attribute("data-attempt")


def test_the_wall_shows_the_class_drawing_and_the_teacher_hides_and_deletes_from_it(server, pages, mnist, tmp_path):
    room = open_class(server, "7B")
    code = room["code"]
    wall, second_wall = pages(), pages()
    open_wall(wall, server, code)
    open_wall(second_wall, server, code)
    assert wall.get_by_test_id("wall-code").text_content() == code
    assert wall.get_by_test_id("wall-name").text_content() == "7B"
    assert wall.get_by_test_id("wall-empty").is_visible()
    wall.wait_for_function("() => document.querySelector('[data-testid=wall-qr]').naturalWidth > 0")
    assert wall.get_by_test_id("wall-qr").get_attribute("src").startswith("blob:")
    wall.get_by_test_id("wall-qr").screenshot(path=str(tmp_path / "qr.png"))
    [qr] = zxingcpp.read_barcodes(Image.open(tmp_path / "qr.png"))
    assert qr.text == room["join_url"]
    font_size = wall.get_by_test_id("wall-code").evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
    assert font_size >= 40, "the code is readable from the back of the room"

    pupil = pages({"width": 1100, "height": 800})
    pupil.goto(room["join_url"])
    draw_seven(pupil, mnist)
    wait_until(lambda: len(attempts_of(server, code)) == 1, what="the stored attempt")
    attempt_id = attempts_of(server, code)[0]["attempt_id"]
    for shown in (wall, second_wall):
        shown.wait_for_selector(TILE.format(attempt_id), timeout=15000)
    tile = wall.locator(TILE.format(attempt_id))
    assert tile.get_by_test_id("tile-digit").text_content() == "7"
    wall.wait_for_function(  # the stored drawing replaces the 28x28 preview
        "id => { const img = document.querySelector(`[data-attempt='${id}'] img`);"
        " return img.src.startsWith('blob:') && !img.classList.contains('preview') && img.naturalWidth > 0; }",
        arg=attempt_id,
    )
    assert not wall.get_by_test_id("wall-empty").is_visible()
    for name, text in (("hide", "Hide"), ("delete", "Delete")):
        button = tile.get_by_test_id(name)
        assert button.text_content() == text
        box = button.bounding_box()
        assert min(box["width"], box["height"]) >= 44, f"{name}: a 44 px target"
        assert button.get_attribute("aria-describedby"), "says which drawing"
    ARTIFACTS.mkdir(exist_ok=True)
    wall.screenshot(path=str(ARTIFACTS / "wall.png"))

    # Hide, from the keyboard: gone from both walls at once, kept (flagged) in the history.
    tile.get_by_test_id("hide").focus()
    wall.keyboard.press("Enter")
    for shown in (wall, second_wall):
        shown.wait_for_selector(TILE.format(attempt_id), state="detached", timeout=10000)
    assert [(a["attempt_id"], a["hidden"]) for a in attempts_of(server, code)] == [(attempt_id, True)]
    assert wall.get_by_test_id("wall-message").text_content() == "Hidden from the wall."
    wall.reload()
    wall.wait_for_selector("[data-testid=connection][data-state=connected]")
    wall.wait_for_timeout(500)
    assert wall.locator(TILE.format(attempt_id)).count() == 0, "a hidden drawing stays off the wall"

    # Delete another, after saying yes: gone from both walls and from the store.
    pupil.get_by_test_id("clear").click()
    draw_seven(pupil, mnist)
    wait_until(lambda: len(attempts_of(server, code)) == 2, what="the second attempt")
    second = newest_tile(wall)
    assert second != attempt_id
    second_wall.wait_for_selector(TILE.format(second), timeout=15000)
    wall.once("dialog", lambda dialog: dialog.accept())
    wall.locator(TILE.format(second)).get_by_test_id("delete").click()
    for shown in (wall, second_wall):
        shown.wait_for_selector(TILE.format(second), state="detached", timeout=10000)
    assert [a["attempt_id"] for a in attempts_of(server, code)] == [attempt_id]
    assert wall.page_errors == []
    assert second_wall.page_errors == []


def test_the_wall_downloads_the_lessons_csv_and_zip(server, pages, mnist, tmp_path):
    room = open_class(server, "8C")
    pupil = pages({"width": 1100, "height": 800})
    pupil.goto(room["join_url"])
    draw_seven(pupil, mnist)
    wait_until(lambda: len(attempts_of(server, room["code"])) == 1, what="the stored attempt")
    [attempt] = attempts_of(server, room["code"])
    wall = pages()
    open_wall(wall, server, room["code"])
    with wall.expect_download() as csv_download:
        wall.get_by_test_id("download-csv").click()
    assert csv_download.value.suggested_filename == f"room-{room['code']}-attempts.csv"
    text = Path(csv_download.value.path()).read_text(encoding="utf-8-sig")
    [row] = csv.DictReader(io.StringIO(text))
    assert (row["id"], row["digit"], row["room"], row["room_name"]) == (attempt["attempt_id"], "7", room["code"], "8C")
    with wall.expect_download() as zip_download:
        wall.get_by_test_id("download-zip").click()
    archive = zipfile.ZipFile(zip_download.value.path())
    assert sorted(archive.namelist()) == sorted([row["drawing"], "attempts.csv"])
    with Image.open(io.BytesIO(archive.read(row["drawing"]))) as image:
        assert image.format == "PNG"
    assert wall.get_by_test_id("wall-message").text_content() == "Downloaded."
    assert wall.page_errors == []


def test_the_dashboard_links_to_the_wall_of_its_room(server, pages):
    page = pages()
    page.goto(f"{server}/dashboard?room=7B&lang=de#token={TEACHER_TOKEN}")
    page.wait_for_selector("[data-testid=connection][data-state=connected]")
    link = page.get_by_test_id("wall-link")
    assert link.text_content() == "Wand für den Beamer"
    page.get_by_test_id("room-input").fill("9D")
    page.get_by_test_id("room-form").locator("button").click()
    page.wait_for_function("() => document.querySelector('[data-testid=wall-link]').search.includes('room=9D')")
    link.click()
    page.wait_for_url("**/wall?**")
    params = dict(pair.split("=") for pair in page.url.split("?", 1)[1].split("&"))
    assert params == {"room": "9D", "lang": "de"}
    page.wait_for_selector("[data-testid=connection][data-state=connected]")
    assert page.get_by_test_id("need-key").is_hidden(), "the key came along, in this tab's session"
    assert page.get_by_test_id("wall-code").text_content() == "9D"
    assert page.get_by_test_id("wall-qr").is_hidden(), "a free-form room has no QR code, only its link"
    assert page.get_by_test_id("wall-link").text_content() == f"{server}/?room=9D"


def test_the_wall_without_the_key_says_so(server, pages):
    page = pages()
    page.goto(f"{server}/wall?room=7B")
    page.wait_for_selector("[data-testid=need-key]:not([hidden])", timeout=15000)
    assert page.locator("[data-testid=wall] li").count() == 0


def test_a_wall_whose_class_cannot_be_looked_up_still_starts(server, pages):
    """The class list unreachable as the wall opens (the network still coming up): the wall starts without the
    class's name and QR code, in its words, and watches the room, instead of staying on "Connecting…"."""
    code = open_class(server, "7C")["code"]
    page = pages()
    page.route("**/api/rooms", lambda route: route.abort())
    open_wall(page, server, code)
    assert page.get_by_test_id("connection").text_content() != "Connecting…"
    assert page.page_errors == []
