"""The application's core, shared by the Socket.IO handlers and the REST API.

It ties the recognizer, the inference queue and the attempt log together: a frame
goes in, an answer comes out, and the attempt record is logged on the way.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from model.decode import ImageError, Limits
from model.recognizer import NumberRecognition, Recognition, Recognizer
from model.versions import ModelFiles
from server.address_limits import AddressLimits
from server.attempt_log import AttemptLog, Spool
from server.attempts import Attempt, data_url, new_attempt_id
from server.concurrency import eventlet_active
from server.engines import Engine, LocalEngine, RecognizerProcess
from server.explanations import explanation_json
from server.inference import Frame, InferenceQueue, Outcome
from server.models import ModelSwitch
from server.owners import Access, new_owner_token, owns
from server.pseudonyms import Pseudonyms
from server.ratelimit import TokenBucket
from server.stores import Store, StoreUnavailable, open_store

TRACKED_ATTEMPTS = 10_000
INFERENCE_TIMEOUT = 30.0
DURABLE_TIMEOUT = 30.0  # longer than a store's own timeout, so a hung store's batch still reaches the spool


class NotStored(ImageError):
    """The answer was ready but its attempt could not be stored: it is not sent, so nothing answered is lost."""

    code = "store_unavailable"
    status = 503


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


Delivery = Callable[[Answer | ImageError | None], None]  # where a live frame's result goes


class Tracked(NamedTuple):
    created_at: float
    frames: int
    session: str | None  # the connection that started (or resumed) it; None for REST attempts
    ended: bool  # a final frame of the attempt was classified
    owner: str | None = None  # the owner token's hash, stored with the attempt
    token: str | None = None  # the owner token itself, for the first answer; only where it was made


class AttemptTracker:
    """What a frame lacks of its attempt's record: when it started, how many frames it had, whether it
    ended, and who owns it (so the common frame, from its own connection, is let through by one lookup)."""

    def __init__(self, capacity: int = TRACKED_ATTEMPTS) -> None:
        self._attempts: collections.OrderedDict[str, Tracked] = collections.OrderedDict()
        self._lock = threading.Lock()
        self.capacity = capacity

    def claim(self, attempt_id: str, tracked: Tracked) -> Tracked:
        """Track ``tracked`` unless the attempt already is; returns whichever is tracked (first claim wins)."""
        with self._lock:
            current = self._attempts.setdefault(attempt_id, tracked)
            self._evict()
            return current

    def observe(self, attempt_id: str, session: str | None, final: bool) -> Tracked:
        """Count one more classified frame; returns the attempt as it was before this frame ended it."""
        with self._lock:
            before = self._attempts.pop(attempt_id, Tracked(time.time(), 0, session, False))
            # The owner token goes out with the first answer only; memory keeps just its hash after that.
            self._attempts[attempt_id] = before._replace(
                frames=before.frames + 1, ended=before.ended or final, token=None
            )
            self._evict()
            return before._replace(frames=before.frames + 1)

    def get(self, attempt_id: str) -> Tracked | None:
        return self._attempts.get(attempt_id)  # one dict read: atomic, and on every frame's path

    def forget(self, attempt_id: str) -> None:
        with self._lock:
            self._attempts.pop(attempt_id, None)

    def _evict(self) -> None:
        """Called with the lock held: the oldest attempts go first; the store still knows their owners."""
        while len(self._attempts) > self.capacity:
            self._attempts.popitem(last=False)


def starting(stored: Attempt | None, session: str | None) -> Tracked:
    """The tracker entry for an attempt that is not tracked: resumed from the store, else new with a fresh token."""
    if stored is not None:
        return Tracked(stored.created_at, stored.frames, session, stored.final, stored.owner)
    token, owner = new_owner_token()
    return Tracked(time.time(), 0, session, False, owner, token)


class Digits:
    def __init__(self, config: dict[str, Any], store: Store | None = None) -> None:
        self.config = config
        limits = Limits(
            max_bytes=config["MAX_UPLOAD_BYTES"],
            max_pixels=config["MAX_IMAGE_PIXELS"],
            # The recognizer re-encodes the drawing to keep (model/drawing.py): off the web process's loop.
            max_stored_bytes=config["MAX_STORED_IMAGE_BYTES"] if config["STORE_IMAGES"] else 0,
        )
        self.models = ModelSwitch(config, self.use_model)
        self.recognizer = Recognizer.load(self.models.current.tflite, self.models.current.card_path, limits)
        self.queue = InferenceQueue(
            [self._engine() for _ in range(config["INFERENCE_WORKERS"])],
            limits,
            config["MAX_BATCH"],
            config["MAX_PENDING"],
            config["MIN_PENDING_PER_ADDRESS"],
        )
        retention_seconds = config["RETENTION_DAYS"] * 86400
        self.store = store or open_store(config["STORE_URL"], retention_seconds)
        self.log = AttemptLog(
            self.store,
            Spool(config["SPOOL_PATH"]),
            config["LOG_FLUSH_SECONDS"],
            config["STORE_RETRY_SECONDS"],
            retention_seconds,
            config["PURGE_SECONDS"],
        )
        try:  # idempotent; a store that is down now gets its schema when it comes back
            self.store.create_schema()
        except StoreUnavailable as error:
            self.log.fail(error)
        self.tracker = AttemptTracker()
        self.pseudonyms = Pseudonyms(config["DATA_DIR"])  # what is stored as the attempt's session
        self.buckets: dict[str, TokenBucket] = {}
        self.limits = AddressLimits(config)
        self.addresses: dict[str, str] = {}  # each open connection's client address
        self.teachers: set[str] = set()  # connections that showed the teacher key on connect
        self.models.start()

    def _engine(self) -> Engine:
        # Under eventlet the workers are green threads: recognizing in one would freeze every
        # connection, so there recognition always runs in child processes.
        if self.config["INFERENCE_PROCESSES"] or eventlet_active():
            model_path, card_path = self.models.current.tflite, self.models.current.card_path
            return RecognizerProcess(str(model_path), str(card_path), self.recognizer.limits)
        return LocalEngine(self.recognizer)

    def use_model(self, files: ModelFiles) -> None:
        """Serve another model version from the next batch on; batches in flight finish on the old one."""
        recognizer = Recognizer.load(files.tflite, files.card_path, self.recognizer.limits)
        for engine in self.queue.engines:
            engine.swap(recognizer)
        self.recognizer = recognizer

    def connect(self, session: str, teacher: bool = False, address: str = "") -> bool:
        """Admit a connection; False when its address already has its maximum of open connections."""
        if not self.limits.open(address):
            return False
        self.addresses[session] = address
        self.buckets[session] = self._connection_bucket()
        if teacher:
            self.teachers.add(session)
        return True

    def disconnect(self, session: str) -> None:
        self.buckets.pop(session, None)
        self.teachers.discard(session)
        address = self.addresses.pop(session, None)
        if address is not None:
            self.limits.close(address)

    def _connection_bucket(self) -> TokenBucket:
        return TokenBucket(self.config["RATE_LIMIT_PER_SECOND"], self.config["RATE_LIMIT_BURST"])

    def address(self, session: str) -> str:
        return self.addresses.get(session, "")

    def is_teacher(self, session: str) -> bool:
        return session in self.teachers

    def access(self, attempt_id: str, session: str | None, owner_token: str | None, teacher: bool) -> Access:
        """May this caller change the attempt? Its own connection may (one lookup); others need its token or the key.

        ``session`` is None for REST callers: they always prove ownership with the token.
        """
        tracked = self.tracker.get(attempt_id)
        if tracked is not None and session is not None and tracked.session == session:
            return Access.ALLOWED
        if tracked is not None:
            owner = tracked.owner
        else:
            stored = self.find(attempt_id)
            if stored is None:
                return Access.UNKNOWN
            owner = stored.owner
        return Access.ALLOWED if teacher or owns(owner, owner_token) else Access.FORBIDDEN

    def may_draw(self, attempt_id: str, session: str, owner_token: str | None, teacher: bool) -> bool:
        """Whether a connection may send a frame of this attempt; a new attempt becomes its own.

        The common frame, from the connection drawing it, costs one dict lookup. An untracked
        id costs one store read: a stored attempt (after a reconnect or restart) is resumed
        with its owner and start; while the store is down it counts as new (ids are random
        UUIDs that only teachers and owners ever see).
        """
        tracked = self.tracker.get(attempt_id)
        if tracked is not None:
            return tracked.session == session or teacher or owns(tracked.owner, owner_token)
        try:
            stored = self.find(attempt_id)
        except StoreUnavailable:
            stored = None
        if stored is not None and not (teacher or owns(stored.owner, owner_token)):
            return False
        claimed = self.tracker.claim(attempt_id, starting(stored, session))
        return claimed.session == session or stored is not None  # of two new claims, the first wins

    def allow(self, session: str) -> bool:
        """The connection's and its address's rate limits: False when either is spent.

        The address's bucket outlives the connection, so reconnecting does not refill it.
        """
        bucket = self.buckets.get(session)
        if bucket is None:  # an event without its connect (the test client can do that)
            bucket = self.buckets[session] = self._connection_bucket()
        return bucket.allow() and self.limits.allow_frame(self.address(session))

    def read_number(self, image: bytes | str, address: str) -> NumberRecognition:
        """Read a row of digits through the inference queue, like every recognition: its fair share, its
        recognizer processes (never the web process's event loop). Raises ``Busy`` or ``ImageError``."""
        job = self.queue.submit(Frame(new_attempt_id(), 0, image, final=True, address=address, number=True))
        outcome = job.wait(INFERENCE_TIMEOUT)
        if outcome.error is not None:
            raise outcome.error
        assert isinstance(outcome.recognition, NumberRecognition)
        return outcome.recognition

    def classify(self, frame: Frame, session: str, source: str) -> Answer:
        """Classify one frame and log its attempt, returning once the attempt is durable.

        Raises ``Busy`` when the queue is full, ``ImageError`` for an image we refuse and
        ``StoreUnavailable`` when neither the store nor the spool could keep the attempt.
        """
        self.tracker.claim(frame.attempt_id, starting(None, None))
        job = self.queue.submit(frame)
        result = self._settle(frame, session, source, job.wait(INFERENCE_TIMEOUT))
        if isinstance(result, ImageError):
            raise result
        assert result is not None, "a REST frame has no newer frame to replace it"
        self.log.commit(result.attempt, DURABLE_TIMEOUT)
        return result

    def submit(self, frame: Frame, session: str, source: str, deliver: Delivery) -> None:
        """Queue a frame and return at once; ``deliver`` later gets its Answer, its ImageError, or None if stale.

        A live handler must not wait: while it waits, a connection's newer frames cannot
        replace its older ones in the queue. Raises ``Busy`` at once when the queue is full.
        """
        job = self.queue.submit(frame)
        job.add_done_callback(lambda outcome: self._deliver(frame, session, source, outcome, deliver))

    def _deliver(self, frame: Frame, session: str, source: str, outcome: Outcome, deliver: Delivery) -> None:
        """A draft's answer goes out at once; a final one once its attempt is durable (the log calls back)."""
        result = self._settle(frame, session, source, outcome)
        if not isinstance(result, Answer) or not frame.final:
            deliver(result)
            return
        self.log.record(result.attempt, lambda durable: deliver(result if durable else NotStored(NOT_STORED)))

    def _settle(self, frame: Frame, session: str, source: str, outcome: Outcome) -> Answer | ImageError | None:
        """What a frame's outcome means: nothing (stale), a refused image, or an answer with its attempt.

        A draft's attempt is recorded here; a final one is recorded by the caller, who
        answers only once it is durable.
        """
        if outcome.skipped:
            return None
        if outcome.error is not None:
            return outcome.error
        recognition = outcome.recognition
        tracked = self.tracker.observe(frame.attempt_id, session, frame.final)
        created_at, frames, ended = tracked.created_at, tracked.frames, tracked.ended
        attempt = Attempt(
            id=frame.attempt_id,
            created_at=created_at,
            source=source,
            session=self.pseudonyms(session),
            digit=recognition.digit,
            confidence=recognition.confidence,
            probabilities=recognition.probabilities,
            image=recognition.stored_png,
            input=recognition.preview_png,
            model_version=recognition.version or self.recognizer.version,
            frames=frames,
            latency_ms=round(outcome.latency_ms, 3),
            final=frame.final,
            owner=tracked.owner,
            room=frame.room,
        )
        if not frame.final and not ended:  # a draft classified after its final must not overwrite it
            self.log.record(attempt)
        return Answer(attempt, recognition, tracked.token)

    def find(self, attempt_id: str) -> Attempt | None:
        """An attempt from memory (not yet written) or from the store."""
        return self.log.pending(attempt_id) or self.store.get(attempt_id)

    def room_of(self, attempt_id: str) -> str:
        """The classroom an attempt was drawn in, for its label's feed (labels are rare: a lookup is fine)."""
        attempt = self.find(attempt_id)
        return attempt.room if attempt is not None else ""

    def label(self, attempt_id: str, label: int | None) -> bool:
        """Record a person's label; False when the attempt is unknown."""
        tracked = self.tracker.get(attempt_id)
        if tracked is not None:
            created_at = tracked.created_at
        else:
            attempt = self.find(attempt_id)
            if attempt is None:
                return False
            created_at = attempt.created_at
        self.log.label(attempt_id, label, created_at)
        return True

    def delete(self, attempt_id: str) -> bool:
        """Remove an attempt and its drawing from memory and every table; False when it is unknown."""
        attempt = self.find(attempt_id)
        tracked = self.tracker.get(attempt_id)
        if attempt is None and tracked is None:
            return False
        self.tracker.forget(attempt_id)
        created_at = attempt.created_at if attempt is not None else tracked.created_at
        self.log.delete(attempt_id, created_at, DURABLE_TIMEOUT)
        return True

    def health(self) -> dict[str, Any]:
        """Facts a probe can act on: degraded when no worker can classify or the store is unreachable."""
        log_health = self.log.health()
        ready = self.queue.ready_workers()
        status = "ok" if ready and log_health["store"] == "ok" else "degraded"
        return {
            "status": status,
            "model": {
                "loaded": ready > 0,
                "version": self.recognizer.version,
                "workers": {"ready": ready, "total": len(self.queue.engines)},
            },
            "store": log_health,
            "queue_depth": self.queue.depth(),
        }

    def close(self) -> None:
        self.models.close()
        self.queue.close()
        self.log.close()
        self.store.close()
