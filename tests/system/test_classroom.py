"""A real classroom against a real server (``python -m server``): a school behind one address, the QR code.

Two hundred devices from one loopback address (127.0.0.7 is, to the server, one school's NAT) join
the class the teacher opened, and forty of them draw at the page's pace at once: the room's budget
carries them, the address's would have refused the 51st. The QR code on the projector is read back
from what Chromium draws of it and must be the join link.
"""

from __future__ import annotations

import asyncio
import time
import uuid

import numpy as np
import pytest
import requests
import zxingcpp
from PIL import Image

from tests.support.flood import RawClient, Refused
from tests.support.images import data_url
from tests.support.server_process import ROOT, TEACHER_HEADERS, TEACHER_TOKEN, running_server

pytestmark = pytest.mark.slow
SCHOOL = "127.0.0.7"
DEVICES, DRAWERS = 200, 40
FRAME_INTERVAL = 0.12  # the page's pace while a stroke moves
FRAMES_PER_DRAWER = 40  # about five seconds of drawing; every tenth frame ends an attempt
# What a loaded machine may answer when the queue is full: capacity, not a limit (bench.live measures it).
CAPACITY = {"busy"}
PAGE_FRAME = ROOT / "bench" / "frames" / "page-7-3.png"  # a frame as the page sends it: cropped, small


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """Default limits (the test lifts none), so the address's would refuse the 51st device."""
    with running_server(
        tmp_path_factory.mktemp("classroom"),
        INFERENCE_WORKERS="2",
        REST_RATE_LIMIT_PER_SECOND="20",
        REST_RATE_LIMIT_BURST="60",
    ) as base:
        yield base


def open_class(server: str, **body) -> dict:
    response = requests.post(f"{server}/api/rooms", json=body, headers=TEACHER_HEADERS, timeout=10)
    assert response.status_code == 201, response.text
    return response.json()


async def school(port: int, code: str, image: str) -> tuple[list[str], list[float], int, int]:
    """Join 200 devices, then let 40 draw; the error codes seen, answer times (s), finals sent and answered."""
    devices = [RawClient("127.0.0.1", port, SCHOOL, auth={"room": code}) for _ in range(DEVICES)]
    for start in range(0, DEVICES, 50):  # in waves, as a hall of devices would join
        await asyncio.gather(*(device.connect() for device in devices[start : start + 50]))
    joined = await asyncio.gather(*(device.event() for device in devices))
    assert all(event == ("room", {"code": code, "name": "Assembly", "language": ""}) for event in joined)
    errors: list[str] = []
    latencies: list[float] = []
    finals_answered = 0

    async def draw(device: RawClient) -> int:
        nonlocal finals_answered
        sent_at: dict[tuple[str, int], float] = {}
        finals: set[str] = set()
        attempt_id = str(uuid.uuid4())

        async def read() -> None:
            nonlocal finals_answered
            while True:
                name, payload = await device.event()
                if name == "error":
                    errors.append(payload["code"])
                elif name == "prediction":
                    sent = sent_at.pop((payload["attempt_id"], payload["seq"]), None)
                    if sent is not None:
                        latencies.append(time.perf_counter() - sent)
                    if payload["attempt_id"] in finals and payload["seq"] == 9:
                        finals_answered += 1

        reader = asyncio.ensure_future(read())
        for frame in range(FRAMES_PER_DRAWER):
            final = frame % 10 == 9
            sent_at[(attempt_id, frame % 10)] = time.perf_counter()
            await device.emit("frame", {"attempt_id": attempt_id, "seq": frame % 10, "image": image, "final": final})
            if final:
                finals.add(attempt_id)
                attempt_id = str(uuid.uuid4())
            await asyncio.sleep(FRAME_INTERVAL)
        await asyncio.sleep(3)  # the last answers
        reader.cancel()
        return len(finals)

    sent = await asyncio.gather(*(draw(device) for device in devices[:DRAWERS]))
    for device in devices:
        device.close()
    return errors, latencies, sum(sent), finals_answered


def test_a_school_behind_one_address_joins_one_class_and_forty_draw_at_once(server):
    code = open_class(server, name="Assembly")["code"]
    port = int(server.rsplit(":", 1)[1])
    image = data_url(PAGE_FRAME.read_bytes())
    errors, latencies, finals_sent, finals_answered = asyncio.run(school(port, code, image))
    limited = [code for code in errors if code not in CAPACITY]
    assert limited == [], "not one rate_limited (nor bad_room, unknown_room...) for the class"
    print(
        f"\n{len(latencies)} answers, p50 {np.percentile(latencies, 50) * 1000:.0f} ms, "
        f"p99 {np.percentile(latencies, 99) * 1000:.0f} ms, {len(errors)} busy (the speed is bench's to judge)"
    )
    assert finals_sent == DRAWERS * FRAMES_PER_DRAWER // 10
    assert finals_answered + errors.count("busy") >= finals_sent, "every finished drawing answered, or told busy"
    stats = requests.get(f"{server}/api/stats?room={code}&days=1", headers=TEACHER_HEADERS, timeout=10).json()
    assert stats["attempts"] >= finals_answered, "every answered drawing logged in the class's room"


def test_without_a_class_the_same_address_keeps_its_own_limit(server):
    port = int(server.rsplit(":", 1)[1])

    async def anonymous() -> tuple[int, list[str]]:
        clients = [RawClient("127.0.0.1", port, "127.0.0.8") for _ in range(51)]
        refused: list[str] = []
        for client in clients:
            try:
                await client.connect()
            except Refused as error:
                refused.append(error.args[0]["data"]["code"])
        for client in clients:
            client.close()
        return len(clients) - len(refused), refused

    admitted, refused = asyncio.run(anonymous())
    assert (admitted, refused) == (50, ["rate_limited"])


def test_the_qr_code_on_the_projector_is_the_join_link(server, browser, tmp_path):
    room = open_class(server, name="7B", language="de")
    svg = requests.get(f"{server}/api/rooms/{room['code']}/qr.svg", headers=TEACHER_HEADERS, timeout=10)
    assert svg.headers["Content-Type"].startswith("image/svg+xml")
    teacher = browser.new_context(viewport={"width": 1280, "height": 900})
    pupil_device = browser.new_context(locale="en-GB")
    try:
        page = teacher.new_page()
        page.set_content(f"<body style='margin:0;background:#fff'>{svg.text}</body>")
        page.screenshot(path=str(tmp_path / "served.png"))
        page.goto(f"{server}/dashboard#token={TEACHER_TOKEN}")
        page.get_by_test_id("class-name").fill("8C")
        page.get_by_test_id("class-language").select_option("fr")
        page.get_by_test_id("class-open").click()
        page.wait_for_selector("[data-testid=class-card]:not([hidden])")
        code = page.get_by_test_id("class-code").text_content()
        page.get_by_test_id("class-qr").screenshot(path=str(tmp_path / "dashboard.png"))
        assert page.get_by_test_id("room-code").text_content() == code, "the dashboard now shows the new class"
        font_size = page.get_by_test_id("class-code").evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
        pupil = pupil_device.new_page()
        pupil.goto(page.get_by_test_id("class-link").text_content())
        pupil.wait_for_selector("[data-testid=room]:not([hidden])")
        pupil_language = pupil.evaluate("document.documentElement.lang")
        class_name = pupil.get_by_test_id("room-name").text_content()
        pupil.goto(f"{server}/?room=000000")
        pupil.wait_for_function("() => document.querySelector('[data-testid=hint]').textContent.includes('code')")
    finally:
        teacher.close()
        pupil_device.close()
    [served] = zxingcpp.read_barcodes(Image.open(tmp_path / "served.png"))
    assert served.text == room["join_url"]
    [shown] = zxingcpp.read_barcodes(Image.open(tmp_path / "dashboard.png"))
    assert shown.text == f"{server}/?room={code}"
    assert font_size >= 48, "the code is readable from the back of the room"
    assert (pupil_language, class_name) == ("fr", "8C"), "the pupil's page takes the class's language and name"
