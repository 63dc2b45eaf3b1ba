"""The results loop: where every live frame's answer is tracked, logged and emitted.

A frame's path, in three files: the handler (``server/live/handlers.py``) checks the event and
queues the frame; a worker (``server/serving/inference.py``) recognizes it in a recognizer
process; this loop, one background task started with ``socketio.start_background_task``
(a green thread under eventlet, a thread under threading), takes each resolved job from
its inbox, off the inference workers, and

* counts the frame in its attempt's tracker entry and builds the attempt record;
* a draft: logs it (written within the log's flush interval) and emits its ``prediction``;
* a final frame: hands its attempt to the log and emits the ``prediction`` (and the
  dashboard's ``attempt``) only once the log says it is durable: the log's writer puts a
  ``Stored`` back into the inbox. When it could not be kept, the drawer gets a
  ``store_unavailable`` error instead: nothing answered is ever lost;
* an image the recognizer refused: emits an ``error``; a stale frame (a newer one of the
  same drawing was answered instead): nothing.

A REST request waits for its own job and settles it with the same ``settle``.
"""

from __future__ import annotations

import logging
import queue
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from model.runtime.decode import ImageError
from model.runtime.recognizer import Recognition
from server.access.pseudonyms import Pseudonyms
from server.access.rooms import feed
from server.errors import NotStored, Unavailable, error_event
from server.extensions import socketio
from server.serving.explanations import explanation_json
from server.serving.inference import Frame, Job, Outcome
from server.serving.tracker import AttemptTracker
from server.storage.attempt_log import AttemptLog
from server.storage.attempts import Attempt, data_url

log = logging.getLogger("digits.results")
ANSWERS_PER_TURN = 64  # a full batch (MAX_BATCH 32) from each of two workers


NOT_STORED = "The attempt could not be stored, so it was not answered; send the drawing again."


@dataclass
class Answer:
    """A classified frame, ready to send, and the record that was logged for it."""

    attempt: Attempt
    recognition: Recognition
    owner_token: str | None = None  # only on the attempt's first answer, to whoever started it

    def prediction(self, seq: int) -> dict[str, Any]:
        """The ``prediction`` event payload of the Socket.IO protocol."""
        owner = {"owner_token": self.owner_token} if self.owner_token else {}
        explanation = self.recognition.explanation  # only when the frame asked for one and had an input
        explained = {"explanation": explanation_json(explanation)} if explanation is not None else {}
        return {
            **owner,
            **explained,
            "attempt_id": self.attempt.id,
            "seq": seq,
            "digit": self.recognition.digit,
            "confidence": self.recognition.confidence,
            "probabilities": self.recognition.probabilities,
            "not_a_digit": self.recognition.not_a_digit,
            "low_confidence": self.recognition.low_confidence,
            "reason": self.recognition.reason,
            "preview": data_url(self.recognition.preview_png),
            "final": self.attempt.final,
        }


@dataclass(frozen=True)
class Stored:
    """The attempt log's word on a final frame's attempt, sent back into the inbox by the log's writer."""

    job: Job
    answer: Answer
    durable: bool


class ResultsLoop:
    """The inbox of resolved live jobs and the loop that answers them, in order of arrival."""

    def __init__(
        self,
        tracker: AttemptTracker,
        pseudonyms: Pseudonyms,
        attempt_log: AttemptLog,
        emit: Callable[..., Any] = socketio.emit,
    ) -> None:
        self.tracker, self.pseudonyms, self.log, self.emit = tracker, pseudonyms, attempt_log, emit
        self.inbox: queue.Queue[Job | Stored | None] = queue.Queue()

    def run(self) -> None:
        """Answer what arrives until ``stop``; one item that fails is logged and the loop goes on.

        Under eventlet a queue that has items never blocks, so the loop lets the other
        green threads run after every ``ANSWERS_PER_TURN`` answers sent back to back (an
        empty inbox blocks, which lets them run anyway). Not after each one: each turn waits
        for every runnable connection, and with twenty connections flooding frames a drawer
        beside them needed 21 s for 20 answers (once over 120 s), against 6 s this way
        (``tests/system/test_address_limits.py``). ``time.sleep`` is eventlet's under its
        monkey-patching, and a bare yield under threading.
        """
        back_to_back = 0
        while (item := self.inbox.get()) is not None:
            try:
                self.handle(item)
            except Exception:
                log.exception("answering a frame failed")
            back_to_back = 0 if self.inbox.empty() else back_to_back + 1
            if back_to_back >= ANSWERS_PER_TURN:
                back_to_back = 0
                time.sleep(0)

    def stop(self) -> None:
        self.inbox.put(None)

    def handle(self, item: Job | Stored) -> None:
        if isinstance(item, Stored):
            self.send(item.job.frame, item.answer if item.durable else NotStored(NOT_STORED))
            return
        assert item.outcome is not None, "only resolved jobs reach the inbox"
        result = self.settle(item.frame, item.outcome)
        if isinstance(result, Answer) and item.frame.final:
            self.log.record(result.attempt, lambda durable: self.inbox.put(Stored(item, result, durable)))
        elif result is not None:
            self.send(item.frame, result)

    def send(self, frame: Frame, result: Answer | ImageError | Unavailable) -> None:
        """Emit a frame's answer (or why it has none) to its connection, and a finished attempt to its room's feed."""
        if isinstance(result, ImageError | Unavailable):
            self.emit("error", error_event(result.code, str(result), frame.attempt_id, frame.seq), to=frame.sid)
            return
        self.emit("prediction", result.prediction(frame.seq), to=frame.sid)
        if frame.final:
            self.emit("attempt", result.attempt.summary(), to=feed(frame.room))

    def settle(self, frame: Frame, outcome: Outcome) -> Answer | ImageError | Unavailable | None:
        """What a frame's outcome means: nothing (stale), a refused image, or an answer with its attempt.

        A draft's attempt is recorded here; a final one is recorded by the caller, who
        answers only once it is durable.
        """
        if outcome.skipped:
            return None
        if outcome.error is not None:
            return outcome.error
        recognition = outcome.recognition
        assert isinstance(recognition, Recognition), "rows of digits (/api/number) are not attempts"
        tracked = self.tracker.observe(frame.attempt_id, frame.sid, frame.final)
        attempt = Attempt(
            id=frame.attempt_id,
            created_at=tracked.created_at,
            source=frame.source,
            drawer=self.pseudonyms(frame.sid or frame.address),  # one drawer: a connection, or a REST address
            digit=recognition.digit,
            confidence=recognition.confidence,
            probabilities=recognition.probabilities,
            image=recognition.stored_png,
            input=recognition.preview_png,
            model_version=recognition.version,
            frames=tracked.frames,
            latency_ms=round(outcome.latency_ms, 3),
            final=frame.final,
            owner=tracked.owner,
            room=frame.room,
            hidden=tracked.hidden,  # not written by the upsert (set_hidden is); said in the feed's ``attempt``
        )
        if not frame.final and not tracked.ended:  # a draft classified after its final must not overwrite it
            self.log.record(attempt)
        return Answer(attempt, recognition, tracked.token)
