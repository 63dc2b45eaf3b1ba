"""The served path makes no reference cycles.

``server/collector.py`` freezes whatever survives a young collection, so no collection walks the
crowd; a cycle that is frozen and then dropped waits for the ten-minute sweep. That is safe only
if frames, attempts and predictions leave no cycles: these tests collect with ``gc.DEBUG_SAVEALL``
around each and count what only the cyclic collector could have freed.
"""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from werkzeug.test import EnvironBuilder, run_wsgi_app

from tests.support.socket_events import events, new_id


@contextmanager
def cycles_made() -> Iterator[list]:
    """The objects that were freed only as members of reference cycles while the block ran."""
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    found: list = []
    try:
        yield found
        gc.collect()
        found.extend(gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()


def census(objects: list) -> str:
    return ", ".join(f"{count} {name}" for name, count in Counter(type(o).__name__ for o in objects).most_common(8))


def test_a_socketio_event_matches_no_url(app):
    """server/live/event_context.py: Flask used to match /socket.io on every event and keep the NotFound."""
    with app.request_context(EnvironBuilder("/socket.io/").get_environ()) as context:
        assert context.url_adapter is None
        assert context.request.routing_exception is None
    with app.request_context(EnvironBuilder("/api/predict", method="POST").get_environ()) as context:
        assert context.request.routing_exception is None
        assert context.request.endpoint == "api.predict"
    with app.request_context(EnvironBuilder("/no/such/page").get_environ()) as context:
        assert context.request.routing_exception is not None, "other paths are routed as ever"


def test_frames_attempts_and_refusals_make_no_cycles(socket_client, seven_frame):
    socket_client.emit("frame", {"attempt_id": new_id(), "seq": 0, "image": seven_frame})
    events(socket_client, "prediction")  # the first frame warms what is made once
    with cycles_made() as cycles:
        for _ in range(4):
            attempt_id = new_id()
            for seq in range(8):
                frame = {"attempt_id": attempt_id, "seq": seq, "image": seven_frame, "final": seq == 7}
                socket_client.emit("frame", frame)
        socket_client.emit("frame", {"attempt_id": new_id(), "seq": 0, "image": "data:image/png;base64,AAAA"})
        socket_client.emit("frame", {"seq": "not a number"})
        events(socket_client, "prediction", count=1 + 4 * 8)
        events(socket_client, "error", count=2)
    assert cycles == [], f"left in reference cycles: {census(cycles)}"


def test_a_rest_prediction_leaves_only_werkzeugs_url_matcher(app, seven_frame):
    """Werkzeug matches a URL with a recursive inner function: a cycle of a few small objects per HTTP request
    (the function, its cells and their tuple, a set), freed by the next young collection. Nothing of the
    request's data is in a cycle: Flask unhooks the request from its environ as the context is popped.
    (Straight through the WSGI app: Flask's test client makes a cycle of its own, ``response.request``.)"""

    def post(image: str) -> str:
        environ = EnvironBuilder("/api/predict", method="POST", json={"image": image}).get_environ()
        _, status, _ = run_wsgi_app(app, environ, buffered=True)
        return status

    assert post(seven_frame).startswith("200")
    requests = 6
    with cycles_made() as cycles:
        for _ in range(requests - 1):
            assert post(seven_frame).startswith("200")
        assert post("garbage").startswith("400")
    matchers = [o for o in cycles if type(o).__name__ == "function"]
    assert {f.__qualname__ for f in matchers} <= {"StateMachineMatcher.match.<locals>._match"}, census(cycles)
    assert {type(o).__name__ for o in cycles} <= {"function", "cell", "tuple", "set"}, census(cycles)
    assert len(cycles) <= 10 * requests, census(cycles)
