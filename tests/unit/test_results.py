"""The results loop (server/serving/results.py): what each resolved live job becomes, on a real attempt log and SQLite.

The loop runs in a thread here, as ``socketio.start_background_task`` runs it under threading;
``emit`` is a list, so the test sees exactly what would be sent to whom.
"""

from __future__ import annotations

import queue
import threading

import pytest

from model.runtime.decode import UnsupportedFormat
from server.access.pseudonyms import Pseudonyms
from server.serving.inference import Frame, Job, Outcome
from server.serving.results import ResultsLoop
from server.serving.tracker import AttemptTracker, starting
from server.storage.attempt_log import AttemptLog, Spool
from server.storage.sqlite import SqliteStore
from server.storage.store import StoreUnavailable
from tests.support.waiting import wait_until

ATTEMPT = "6f1c2a4e-9a4b-4a53-9d55-0d1f3c2b1a00"


class Emitted:
    """Every emit, as (event, payload, to)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict, str]] = []

    def __call__(self, event: str, payload: dict, to: str) -> None:
        self.events.append((event, payload, to))

    def named(self, event: str) -> list[tuple[dict, str]]:
        return [(payload, to) for name, payload, to in self.events if name == event]


@pytest.fixture
def store(tmp_path):
    store = SqliteStore(str(tmp_path / "attempts.db"))
    store.create_schema()
    yield store
    store.close()


@pytest.fixture
def loop(tmp_path, store):
    log = AttemptLog(store, Spool(tmp_path / "spool.db"), flush_seconds=0.05, retry_seconds=0.1)
    emitted = Emitted()
    results = ResultsLoop(AttemptTracker(), Pseudonyms(tmp_path / "data"), log, emitted)
    thread = threading.Thread(target=results.run, daemon=True)
    thread.start()
    yield results, emitted, log
    results.stop()
    thread.join(5)
    assert not thread.is_alive(), "stop ends the loop"
    log.close()


def resolved(frame: Frame, outcome: Outcome, results: ResultsLoop) -> Job:
    """A job as a worker leaves it: resolved, and so put into the loop's inbox."""
    job = Job(frame, results.inbox)
    job.resolve(outcome)
    return job


def frame(seq: int, final: bool, sid: str = "sid-1", room: str = "") -> Frame:
    return Frame(ATTEMPT, seq, b"", final, "127.0.0.1", room=room, sid=sid)


def test_a_draft_is_answered_to_its_connection_and_logged(loop, recognizer, seven_png, store):
    results, emitted, log = loop
    results.tracker.claim(ATTEMPT, starting(None, "sid-1"))  # as the handler's ownership check does
    resolved(frame(1, False), Outcome(recognition=recognizer.recognize(seven_png), latency_ms=3.0), results)
    wait_until(lambda: emitted.named("prediction"), what="the draft's prediction")
    [(prediction, to)] = emitted.named("prediction")
    assert to == "sid-1"
    assert [prediction[key] for key in ("attempt_id", "seq", "digit", "final")] == [ATTEMPT, 1, 7, False]
    assert prediction["owner_token"], "the attempt's first answer carries its owner token"
    assert emitted.named("attempt") == [], "drafts do not reach the dashboard"
    log.flush()
    stored = store.get(ATTEMPT)
    assert (stored.digit, stored.final, stored.frames, stored.source) == (7, False, 1, "canvas")


def test_a_final_answer_waits_until_its_attempt_is_stored(loop, recognizer, seven_png, store):
    results, emitted, _ = loop
    resolved(frame(4, True, room="7B"), Outcome(recognition=recognizer.recognize(seven_png)), results)
    wait_until(lambda: emitted.named("attempt"), what="the finished attempt on the feed")
    [(prediction, to)] = emitted.named("prediction")
    assert (prediction["final"], to) == (True, "sid-1")
    [(summary, feed)] = emitted.named("attempt")
    assert (summary["attempt_id"], feed) == (ATTEMPT, "dashboard:7B")
    assert store.get(ATTEMPT).final, "sent only once stored"


def test_an_answer_nothing_could_keep_is_an_error_not_a_prediction(loop, recognizer, seven_png, monkeypatch):
    results, emitted, log = loop

    def refuse(*args):
        raise StoreUnavailable("down")

    monkeypatch.setattr(log.store, "upsert", refuse)
    monkeypatch.setattr(log.spool, "push", refuse)
    resolved(frame(2, True), Outcome(recognition=recognizer.recognize(seven_png)), results)
    wait_until(lambda: emitted.named("error"), what="the store_unavailable error")
    [(error, to)] = emitted.named("error")
    assert (error["code"], error["attempt_id"], error["seq"], to) == ("store_unavailable", ATTEMPT, 2, "sid-1")
    assert emitted.named("prediction") == []


def test_a_refused_image_gets_its_error_and_a_stale_frame_nothing(loop, store):
    results, emitted, log = loop
    refused = UnsupportedFormat("not an image")
    resolved(frame(3, False), Outcome(error=refused), results)
    resolved(frame(5, False, sid="sid-2"), Outcome(skipped=True), results)
    wait_until(lambda: emitted.named("error"), what="the refusal")
    [(error, to)] = emitted.named("error")
    assert (error["code"], error["seq"], to) == (UnsupportedFormat.code, 3, "sid-1")
    assert [to for _, _, to in emitted.events] == ["sid-1"], "nothing for the stale frame"
    log.flush()
    assert store.get(ATTEMPT) is None, "neither is an attempt"


def test_one_failing_item_does_not_stop_the_loop(loop, recognizer, seven_png, monkeypatch):
    results, emitted, _ = loop
    calls = []

    def fail_once(event, payload, to):
        calls.append(event)
        if len(calls) == 1:
            raise RuntimeError("a socket went away mid-emit")
        emitted(event, payload, to)

    monkeypatch.setattr(results, "emit", fail_once)
    for seq in (1, 2):
        resolved(frame(seq, False), Outcome(recognition=recognizer.recognize(seven_png)), results)
    wait_until(lambda: emitted.named("prediction"), what="the second prediction")
    assert [payload["seq"] for payload, _ in emitted.named("prediction")] == [2]


def test_jobs_without_an_inbox_are_waited_for(recognizer, seven_png):
    job = Job(frame(1, True))
    job.resolve(Outcome(recognition=recognizer.recognize(seven_png)))
    assert job.wait(1).recognition.digit == 7
    inbox: queue.Queue = queue.Queue()
    Job(frame(2, True), inbox).resolve(Outcome(skipped=True))
    assert inbox.get_nowait().outcome.skipped
