"""The page when the server is gone, in real headless Chromium against real server processes.

* The server process is killed under an open page: the page answers from the browser (its own copy of
  the server's model), the badge says so (data-state="offline" and a word), and the drawing waits in
  the outbox.
* Stop the server, draw, reload (the service worker serves the page and the model), draw, start the
  server again: every attempt drawn offline is stored, once, with the browser's answer beside it.
* A new served version (a model switch) replaces the cached page and model after two reloads.
* The teacher's history says it needs the server when the server is down.
* Behind the shipped nginx, whose 502 for servers that are down is not a network failure, the same.
* A label given while its drawing is being delivered reaches the server.
"""

from __future__ import annotations

import pytest
import requests

from tests.support import nginx
from tests.support.chromium import draw_with_mouse, strokes
from tests.support.images import CLEAR
from tests.support.server_process import TEACHER_HEADERS, free_port, start_server, stop_server
from tests.support.versions import make_version
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow]

OUTBOX_COUNT = """() => new Promise((resolve, reject) => {
  const open = indexedDB.open("digits-offline", 1);
  open.onupgradeneeded = () => open.result.createObjectStore("attempts", { keyPath: "attempt_id" });
  open.onsuccess = () => {
    const request = open.result.transaction("attempts").objectStore("attempts").count();
    request.onsuccess = () => { open.result.close(); resolve(request.result); };
    request.onerror = () => reject(request.error);
  };
  open.onerror = () => reject(open.error);
})"""


@pytest.fixture
def server(tmp_path):
    """A server of its own (this test kills it), on a port it can be started on again."""
    port = free_port()
    process, base = start_server(tmp_path, port=port)
    state = {"process": process, "base": base, "port": port, "data": tmp_path}
    yield state
    if state["process"] is not None:
        stop_server(state["process"])


def open_ready(page, base: str) -> str:
    """The page, connected, with its offline recognizer loaded and its service worker in control."""
    page.goto(base)
    page.wait_for_selector("[data-testid=connection][data-state=connected]")
    page.wait_for_function("() => document.documentElement.dataset.offlineModel", timeout=60000)
    page.evaluate("async () => { await navigator.serviceWorker.ready; }")
    if not page.evaluate("() => !!navigator.serviceWorker.controller"):
        page.reload()
        page.wait_for_function("() => document.documentElement.dataset.offlineModel", timeout=60000)
    assert page.evaluate("() => !!navigator.serviceWorker.controller")
    return page.evaluate("() => document.documentElement.dataset.offlineModel")


def draw(page, mnist, label: int) -> None:
    page.get_by_test_id("clear").click()
    draw_with_mouse(page, strokes(mnist.x_test[CLEAR[label]], page.get_by_test_id("pad").bounding_box()))
    page.wait_for_function(
        "d => document.querySelector('[data-testid=prediction]').textContent === d", arg=str(label), timeout=20000
    )


def holding_answers(page) -> dict:
    """The page's socket relayed through Playwright: while the switch returned is on, the server's answers
    (predictions) are held back, as a connection that stalls or drops them would."""
    held = {"on": False}

    def relay(socket) -> None:
        upstream = socket.connect_to_server()
        socket.on_message(upstream.send)
        upstream.on_message(
            lambda message: None if held["on"] and '"prediction"' in str(message) else socket.send(message)
        )

    page.route_web_socket("**/socket.io/**", relay)
    return held


def kill(server) -> None:
    stop_server(server["process"])
    server["process"] = None


def offline_attempts(base: str) -> list[dict]:
    found = requests.get(f"{base}/api/attempts", params={"limit": 100}, headers=TEACHER_HEADERS, timeout=10).json()
    return [attempt for attempt in found["attempts"] if attempt["source"] == "offline"]


def test_the_page_answers_by_itself_when_the_server_dies(server, page, mnist):
    version = open_ready(page, server["base"])
    kill(server)
    page.wait_for_selector("[data-testid=connection][data-state=offline]")
    draw(page, mnist, 7)
    badge = page.get_by_test_id("connection")
    assert badge.get_attribute("data-state") == "offline"
    assert badge.text_content() == "Offline: answered on this device"
    assert page.get_by_test_id("preview").get_attribute("src").startswith("data:image/png;base64,")
    assert page.locator("[data-testid=probabilities] li.best").get_attribute("data-digit") == "7"
    page.wait_for_selector("[data-testid=feedback]:not([hidden])")
    wait_until(lambda: page.evaluate(OUTBOX_COUNT) == 1, timeout=10)
    assert version


def test_nothing_drawn_offline_is_lost_and_nothing_is_stored_twice(server, page, mnist):
    open_ready(page, server["base"])
    kill(server)
    page.wait_for_selector("[data-testid=connection][data-state=offline]")
    draw(page, mnist, 7)
    page.get_by_test_id("choices").locator("[data-label='1']").click()  # corrected offline: the label travels too
    page.wait_for_function("() => document.querySelector('[data-testid=thanks]').textContent.includes('this device')")
    wait_until(lambda: page.evaluate(OUTBOX_COUNT) == 1, timeout=10)
    page.reload()  # the server is down: the service worker serves the page, the runtime and the model
    page.wait_for_function("() => document.documentElement.dataset.offlineModel", timeout=60000)
    draw(page, mnist, 2)
    wait_until(lambda: page.evaluate(OUTBOX_COUNT) == 2, timeout=10)
    server["process"], _ = start_server(server["data"], port=server["port"])
    page.wait_for_selector("[data-testid=connection][data-state=connected]", timeout=30000)
    wait_until(lambda: len(offline_attempts(server["base"])) == 2, timeout=30)
    wait_until(lambda: page.evaluate(OUTBOX_COUNT) == 0, timeout=30)
    page.reload()  # a reload with the outbox empty delivers nothing again
    page.wait_for_selector("[data-testid=connection][data-state=connected]")
    attempts = offline_attempts(server["base"])
    assert sorted(attempt["digit"] for attempt in attempts) == [2, 7]
    assert len({attempt["attempt_id"] for attempt in attempts}) == 2
    labelled = next(attempt for attempt in attempts if attempt["digit"] == 7)
    assert labelled["label"] == 1
    both = requests.get(
        f"{server['base']}/api/deliveries/{labelled['attempt_id']}", headers=TEACHER_HEADERS, timeout=10
    )
    assert both.json()["browser"]["digit"] == 7
    assert both.json()["browser"]["version_known"] is True


def test_a_new_served_version_replaces_the_cached_page_and_model(server, page):
    first = open_ready(page, server["base"])
    cached = page.evaluate("() => caches.keys()")
    assert len(cached) == 1
    assert cached[0].endswith(first)
    make_version(server["data"] / "models", "v2-offline-test")
    promoted = requests.post(
        f"{server['base']}/api/models/v2-offline-test/activate", headers=TEACHER_HEADERS, timeout=30
    )
    assert promoted.status_code == 200, promoted.text
    wait_until(
        lambda: requests.get(f"{server['base']}/api/model/card", timeout=5).json()["version"] == "v2-offline-test",
        timeout=30,
    )
    page.reload()  # the browser finds a changed /sw.js: the new worker installs and takes over
    page.wait_for_function("() => document.documentElement.dataset.offlineModel", timeout=60000)
    page.reload()  # served by the new worker, from the new cache
    page.wait_for_function("() => document.documentElement.dataset.offlineModel === 'v2-offline-test'", timeout=60000)
    build = cached[0][len("digits-") : -len(first) - 1]
    wait_until(lambda: page.evaluate("() => caches.keys()") == [f"digits-{build}-v2-offline-test"], timeout=30)


def test_the_history_says_it_needs_the_server(server, page):
    open_ready(page, server["base"])
    page.goto(f"{server['base']}/history")
    page.wait_for_selector("[data-testid=history]", state="attached")
    kill(server)
    page.reload()  # the service worker serves the page; its data cannot come
    note = page.wait_for_selector("[data-testid=needs-server]", timeout=20000)
    assert "needs the server" in note.text_content()


def test_the_page_installs(server, page):
    manifest = requests.get(f"{server['base']}/manifest.webmanifest", timeout=10)
    assert manifest.headers["Content-Type"].startswith("application/manifest+json")
    assert manifest.json()["start_url"] == "/"
    worker = requests.get(f"{server['base']}/sw.js", timeout=10)
    assert worker.headers["Cache-Control"] == "no-cache"
    assert "__MODEL_VERSION__" not in worker.text
    for path in ("/static/vendor/litert/core.js", "/static/vendor/litert/litert_wasm_internal.wasm"):
        assert requests.get(f"{server['base']}{path}", timeout=10).status_code == 200


def test_a_late_answer_is_given_by_the_browser_meanwhile(server, page, mnist):
    """The socket stays up but the server's answers stop coming (held back here): after 1.5 s the browser
    answers and the badge says so; when the server answers again, the badge goes back."""
    held = holding_answers(page)
    open_ready(page, server["base"])
    held["on"] = True
    draw(page, mnist, 3)
    badge = page.get_by_test_id("connection")
    assert badge.get_attribute("data-state") == "offline"
    assert badge.text_content() == "Offline: answered on this device"
    assert page.evaluate(OUTBOX_COUNT) == 0  # the server has the drawing: nothing to deliver
    held["on"] = False
    draw(page, mnist, 5)
    page.wait_for_selector("[data-testid=connection][data-state=connected]")


LABEL_ON_THE_WAY = """async ({ image, attemptId }) => {
  const { Outbox } = await import("/static/js/outbox.js");
  const outbox = new Outbox();
  await outbox.put({
    attempt_id: attemptId, owner_token: "made-by-this-page-for-the-test-0001", image, digit: 7, reason: null,
    confidence: 0.9, model_version: "v1-builtin", label: null, drawn_at: Date.now() / 1000,
  });
  const send = window.fetch;
  window.fetch = async (url, init) => {  // the pupil labels it while its delivery is on the way
    if (String(url).endsWith("/api/deliveries") && !window.labelled) window.labelled = await outbox.label(attemptId, 1);
    return send(url, init);
  };
  const delivered = await outbox.deliver();
  window.fetch = send;
  const after = await outbox.label(attemptId, 2);
  return { delivered, labelled: window.labelled, waiting: await outbox.count(), after };
}"""


def test_a_label_given_while_the_drawing_is_delivered_is_kept(server, page, seven_frame):
    """The outbox sends a copy of the entry; a label written meanwhile goes with a second delivery, which the
    server keeps for the attempt it already has. Once delivered, the outbox says so (false), never throws."""
    page.goto(f"{server['base']}/history")  # a page of this origin whose own outbox does not deliver meanwhile
    attempt_id = "5d1c3bd6-8f0e-4c4b-9a57-3f7f2f0e9a11"
    outcome = page.evaluate(LABEL_ON_THE_WAY, {"image": seven_frame, "attemptId": attempt_id})
    assert outcome == {"delivered": 1, "labelled": True, "waiting": 0, "after": False}

    def stored() -> dict:
        url = f"{server['base']}/api/attempts/{attempt_id}"
        return requests.get(url, headers=TEACHER_HEADERS, timeout=10).json()

    wait_until(lambda: stored().get("label") == 1, what="the label given on the way")
    assert (stored()["digit"], stored()["frames"]) == (7, 1)


def test_behind_the_shipped_nginx_a_reload_with_the_servers_down_gets_the_cached_page(server, page, tmp_path, mnist):
    """A first visit through nginx installs the service worker (its ~40 page files once hit the per-address
    burst: 429, and no offline page at all); nginx answers 502 for servers that are down, and the worker
    serves its cached page and card for that as for no network, and the page answers from the browser."""
    proxy, base, _ = nginx.start(tmp_path / "nginx", server["port"])
    try:
        open_ready(page, base)
        kill(server)
        assert requests.get(base, timeout=10).status_code == 502  # what the page would show without its worker
        page.reload()
        page.wait_for_function("() => document.documentElement.dataset.offlineModel", timeout=60000)
        draw(page, mnist, 4)
        assert page.get_by_test_id("connection").get_attribute("data-state") == "offline"
    finally:
        proxy.terminate()
        proxy.wait(timeout=10)


def test_a_kiosk_back_online_says_so_before_anyone_draws(server, page, mnist):
    """Its heartbeat at the reconnect says online: the dashboard showed an idle kiosk answering offline for
    as long as nobody drew on it."""
    kiosk = f"{server['base']}/?kiosk=1&kiosk_id=hall-9&idle=600"
    open_ready(page, kiosk)
    kill(server)
    page.wait_for_selector("[data-testid=connection][data-state=offline]")
    draw(page, mnist, 7)  # answered on this device
    server["process"], _ = start_server(server["data"], port=server["port"])
    page.wait_for_selector("[data-testid=connection][data-state=connected]", timeout=30000)

    def state() -> str | None:
        found = requests.get(f"{server['base']}/api/kiosks", headers=TEACHER_HEADERS, timeout=10).json()["kiosks"]
        return next((kiosk["state"] for kiosk in found if kiosk["kiosk_id"] == "hall-9"), None)

    wait_until(lambda: state() == "online", timeout=15, what="the kiosk's heartbeat at the reconnect")


OUTBOX_ENTRIES = OUTBOX_COUNT.replace(".count()", ".getAll()")


def test_a_pause_mid_digit_offline_keeps_one_attempt(server, page, mnist):
    """Offline, a pupil lifts the pen longer than the finishing pause and draws on: the drawing is kept once,
    as it ends, under the attempt it began as (two halves were delivered as two attempts)."""
    open_ready(page, server["base"])
    kill(server)
    page.wait_for_selector("[data-testid=connection][data-state=offline]")
    page.get_by_test_id("clear").click()
    paths = strokes(mnist.x_test[CLEAR[7]], page.get_by_test_id("pad").bounding_box())
    half = len(paths) // 2
    draw_with_mouse(page, paths[:half])
    wait_until(lambda: page.evaluate(OUTBOX_COUNT) == 1, timeout=10, what="the first half kept")
    [first] = page.evaluate(OUTBOX_ENTRIES)
    draw_with_mouse(page, paths[half:])
    page.wait_for_function("() => document.querySelector('[data-testid=prediction]').textContent === '7'")
    wait_until(lambda: page.evaluate(OUTBOX_ENTRIES)[0]["image"] != first["image"], timeout=10, what="the whole")
    [whole] = page.evaluate(OUTBOX_ENTRIES)
    assert (whole["attempt_id"], whole["owner_token"], whole["digit"]) == (first["attempt_id"], first["owner_token"], 7)
    server["process"], _ = start_server(server["data"], port=server["port"])
    wait_until(lambda: len(offline_attempts(server["base"])) == 1, timeout=30, what="the delivery")
    wait_until(lambda: page.evaluate(OUTBOX_COUNT) == 0, timeout=30)
    [stored] = offline_attempts(server["base"])
    assert (stored["attempt_id"], stored["digit"]) == (first["attempt_id"], 7)
    draw_with_mouse(page, paths[-1:])  # drawn on with the server back: a new attempt, which the server reads
    page.wait_for_selector("[data-testid=connection][data-state=connected]")

    def online() -> list[dict]:
        found = requests.get(f"{server['base']}/api/attempts", headers=TEACHER_HEADERS, timeout=10).json()
        return [attempt for attempt in found["attempts"] if attempt["source"] == "canvas" and attempt["final"]]

    wait_until(lambda: len(online()) == 1, timeout=15, what="the live attempt of the drawing drawn on")
    assert online()[0]["attempt_id"] != first["attempt_id"]


def test_a_drawing_whose_answers_never_came_is_delivered_when_the_server_dies(server, page, mnist):
    """The server reads the frames but its answers (and the owner token the first carries) are lost, then it
    dies: the page finishes the drawing offline with the token it made for the attempt and sent with its
    frames, so the delivery is the attempt's own (with a token made only then it was refused and dropped)."""
    held = holding_answers(page)
    dropped = []
    page.on(
        "console", lambda message: dropped.append(message.text) if "dropped offline attempt" in message.text else None
    )
    open_ready(page, server["base"])
    held["on"] = True
    draw(page, mnist, 7)  # answered by the browser meanwhile: the server's answers are held back
    kill(server)
    wait_until(lambda: page.evaluate(OUTBOX_COUNT) == 1, timeout=15, what="the drawing kept for delivery")
    held["on"] = False
    server["process"], _ = start_server(server["data"], port=server["port"])
    page.wait_for_selector("[data-testid=connection][data-state=connected]", timeout=30000)
    wait_until(lambda: page.evaluate(OUTBOX_COUNT) == 0, timeout=30, what="the delivery")
    assert dropped == []
    found = requests.get(f"{server['base']}/api/attempts", headers=TEACHER_HEADERS, timeout=10).json()["attempts"]
    assert [(attempt["digit"], attempt["final"]) for attempt in found] == [(7, True)]
