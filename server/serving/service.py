"""The application's core, shared by the Socket.IO handlers and the REST API.

It holds who is connected and what they may do (rate limits, teachers, owners of
attempts), and starts the runtime a frame goes through: the inference queue and its
recognizer processes, the results loop and the attempt log.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import Any

from model.runtime.decode import ImageError, Limits
from model.runtime.recognizer import NumberRecognition, Recognizer
from model.runtime.versions import ModelFiles
from server.access.limits import AddressLimits, ConnectionLimits, Verdict, room_limits
from server.access.owners import Access, owns
from server.access.pseudonyms import Pseudonyms
from server.access.rooms import DEFAULT_ROOM, OPENED_CODE, RoomRegistry, feed
from server.concurrency import eventlet_active
from server.errors import ProtocolError, Unavailable
from server.extensions import socketio
from server.serving.engines import Engine, LocalEngine, RecognizerProcess
from server.serving.inference import Frame, InferenceQueue
from server.serving.results import Answer, ResultsLoop
from server.serving.tracker import AttemptTracker, starting
from server.storage.attempt_log import AttemptLog, Spool
from server.storage.attempts import Attempt, new_attempt_id
from server.storage.store import Store, StoreUnavailable
from server.storage.urls import open_store
from server.versions.switch import ModelSwitch

INFERENCE_TIMEOUT = 30.0
DURABLE_TIMEOUT = 30.0  # longer than a store's own timeout, so a hung store's batch still reaches the spool


class RecognitionService:
    """The service: cheap to make (``create_app`` makes one per app), started on first use.

    ``start`` (at once in a gunicorn worker after its fork, else on the first request or
    connection) loads the recognizer, starts the recognizer processes, the attempt log's
    writer, the results loop and the model watcher. Until then only the configuration, the
    store's address and the model versions are known, so ``flask init-db`` and the other
    commands touch what they need and nothing else.
    """

    def __init__(self, config: dict[str, Any], store: Store | None = None) -> None:
        self.config = config
        self.image_limits = Limits(
            max_bytes=config["MAX_UPLOAD_BYTES"],
            max_pixels=config["MAX_IMAGE_PIXELS"],
            # The recognizer makes the drawing to keep (model/runtime/drawing.py): off the web process's loop.
            max_stored_bytes=config["MAX_STORED_IMAGE_BYTES"] if config["STORE_IMAGES"] else 0,
        )
        self.retention_seconds = config["RETENTION_DAYS"] * 86400
        self.store = store or open_store(config["STORE_URL"], self.retention_seconds)  # connects on first use
        self.models = ModelSwitch(config, self.use_model)
        self.tracker = AttemptTracker()
        self.pseudonyms = Pseudonyms(config["DATA_DIR"])  # the drawer stored with each attempt
        self.address_limits = AddressLimits(config)
        self.connection_limits = ConnectionLimits(config, self.address_limits, room_limits(config))
        self.rooms = RoomRegistry(self.store, config["ROOM_IDLE_MINUTES"] * 60, config["FREE_ROOMS"])
        self.teachers: set[str] = set()  # sids of the connections that showed the teacher key on connect
        # The runtime, made by ``start``:
        self.recognizer: Recognizer | None = None
        self.queue: InferenceQueue | None = None
        self.log: AttemptLog | None = None
        self.results: ResultsLoop | None = None
        self._start_lock = threading.Lock()
        self._started = False

    def start(self) -> None:
        """Start the runtime once; cheap to call again (every request and connection does)."""
        if self._started:
            return
        with self._start_lock:
            if self._started:
                return
            config = self.config
            self.use_model(self.models.current)  # the recognizer; its engines are made next
            self.queue = InferenceQueue(
                [self._engine() for _ in range(config["INFERENCE_WORKERS"])],
                self.image_limits,
                config["MAX_BATCH"],
                config["MAX_PENDING"],
                config["MIN_PENDING_PER_ADDRESS"],
            )
            self.log = AttemptLog(
                self.store,
                Spool(config["SPOOL_PATH"]),
                config["LOG_FLUSH_SECONDS"],
                config["STORE_RETRY_SECONDS"],
                self.retention_seconds,
                config["PURGE_SECONDS"],
            )
            try:  # idempotent; a store that is down now gets its schema when it comes back
                self.store.create_schema()
            except StoreUnavailable as error:
                self.log.fail(error)
            self.results = ResultsLoop(self.tracker, self.pseudonyms, self.log)
            socketio.start_background_task(self.results.run)
            self.models.start()
            self._started = True

    @property
    def started(self) -> bool:
        return self._started

    def _engine(self) -> Engine:
        # Under eventlet the workers are green threads: recognizing in one would freeze every
        # connection, so there recognition always runs in child processes.
        if self.config["INFERENCE_PROCESSES"] or eventlet_active():
            model_path, card_path = self.models.current.tflite, self.models.current.card_path
            return RecognizerProcess(str(model_path), str(card_path), self.image_limits)
        return LocalEngine(self.recognizer)

    def use_model(self, files: ModelFiles) -> None:
        """Serve another model version from the next batch on; batches in flight finish on the old one.

        Loading it here is also the check that it loads (``flask promote`` runs this without a runtime).
        """
        recognizer = Recognizer.load(files.tflite, files.card_path, self.image_limits)
        for engine in self.queue.engines if self.queue is not None else []:
            engine.swap(recognizer)
        self.recognizer = recognizer

    def connect(self, sid: str, teacher: bool = False, address: str = "", room: str | None = None) -> bool:
        """Admit a connection, in the opened ``room`` it joined if any; False when that room (or else its
        address) already has its maximum of open connections."""
        if not self.connection_limits.open(sid, address, room):
            return False
        if teacher:
            self.teachers.add(sid)
        return True

    def disconnect(self, sid: str) -> None:
        self.teachers.discard(sid)
        self.connection_limits.close(sid)

    def address(self, sid: str) -> str:
        return self.connection_limits.address(sid)

    def check_room(self, room: str, address: str) -> str:
        """The room a frame or request may be logged in (``RoomRegistry.check``), guarded against guessing:
        each miss on a code spends one of the address's guesses, and with none left every lookup of a
        code is refused, so a hit and a miss cannot be told apart. Raises ProtocolError."""
        if room == DEFAULT_ROOM:
            return room
        if OPENED_CODE.fullmatch(room) and self.address_limits.room_guess_wait(address) > 0:
            raise ProtocolError("rate_limited", "Too many wrong class codes from your network: wait a minute.")
        try:
            return self.rooms.check(room)
        except ProtocolError:
            self.address_limits.spend_room_guess(address)
            raise

    def frame_room(self, sid: str, room: str) -> str:
        """The room a live frame is logged in: the opened room its connection joined, else the one it names."""
        joined = self.connection_limits.room(sid)
        if joined is None:
            return self.check_room(room, self.address(sid))
        if room not in (DEFAULT_ROOM, joined):
            raise ProtocolError("bad_room", f"This connection joined class {joined}: its frames are logged there.")
        return self.rooms.check(joined)  # closed or expired since it joined: unknown_room

    def is_teacher(self, sid: str) -> bool:
        return sid in self.teachers

    def access(self, attempt_id: str, sid: str | None, owner_token: str | None, teacher: bool) -> Access:
        """May this caller change the attempt? Its own connection may (one lookup); others need its token or the key.

        ``sid`` is None for REST callers: they always prove ownership with the token.
        """
        tracked = self.tracker.get(attempt_id)
        if tracked is not None and sid is not None and tracked.sid == sid:
            return Access.ALLOWED
        if tracked is not None:
            owner = tracked.owner
        else:
            stored = self.find(attempt_id)
            if stored is None:
                return Access.UNKNOWN
            owner = stored.owner
        return Access.ALLOWED if teacher or owns(owner, owner_token) else Access.FORBIDDEN

    def may_draw(self, attempt_id: str, sid: str, owner_token: str | None, teacher: bool) -> bool:
        """Whether a connection may send a frame of this attempt; a new attempt becomes its own.

        The common frame, from the connection drawing it, costs one dict lookup. An untracked
        id costs one store read: a stored attempt (after a reconnect or restart) is resumed
        with its owner and start; while the store is down it counts as new (ids are random
        UUIDs that only teachers and owners ever see).
        """
        tracked = self.tracker.get(attempt_id)
        if tracked is not None:
            return tracked.sid == sid or teacher or owns(tracked.owner, owner_token)
        try:
            stored = self.find(attempt_id)
        except StoreUnavailable:
            stored = None
        if stored is not None and not (teacher or owns(stored.owner, owner_token)):
            return False
        claimed = self.tracker.claim(attempt_id, starting(stored, sid, owner_token))
        return claimed.sid == sid or stored is not None  # of two new claims, the first wins

    def admit_frame(self, sid: str) -> Verdict:
        """The connection's and its address's (or room's) frame budgets (``server/access/limits.py``).

        The address's bucket outlives the connection, so reconnecting does not refill it.
        """
        return self.connection_limits.frame(sid)

    def read_number(self, image: bytes | str, address: str) -> NumberRecognition:
        """Read a row of digits through the inference queue, like every recognition: its fair share, its
        recognizer processes (never the web process's event loop). Raises ``Busy`` or ``ImageError``."""
        job = self.queue.submit(Frame(new_attempt_id(), 0, image, final=True, address=address, number=True))
        outcome = job.wait(INFERENCE_TIMEOUT)
        if outcome.error is not None:
            raise outcome.error
        assert isinstance(outcome.recognition, NumberRecognition)
        return outcome.recognition

    def classify(self, frame: Frame) -> Answer:
        """Classify one frame (a REST request) and log its attempt, returning once the attempt is durable.

        Raises ``Busy`` when the queue is full, ``ImageError`` for an image we refuse and
        ``StoreUnavailable`` when neither the store nor the spool could keep the attempt.
        """
        self.tracker.claim(frame.attempt_id, starting(None, None))
        job = self.queue.submit(frame)
        result = self.results.settle(frame, job.wait(INFERENCE_TIMEOUT))
        if isinstance(result, ImageError | Unavailable):
            raise result
        assert result is not None, "a REST frame has no newer frame to replace it"
        self.log.commit(result.attempt, DURABLE_TIMEOUT)
        return result

    def submit(self, frame: Frame) -> None:
        """Queue a live frame and return at once: the results loop answers it (``server/serving/results.py``).

        A live handler must not wait: while it waits, a connection's newer frames cannot
        replace its older ones in the queue. Raises ``Busy`` at once when the queue is full.
        """
        self.queue.submit(frame, self.results.inbox)

    def find(self, attempt_id: str) -> Attempt | None:
        """An attempt from memory (not yet written) or from the store."""
        return self.log.pending(attempt_id) or self.store.get(attempt_id)

    def room_of(self, attempt_id: str) -> str:
        """The classroom an attempt was drawn in, for its label's feed (labels are rare: a lookup is fine)."""
        attempt = self.find(attempt_id)
        return attempt.room if attempt is not None else ""

    def created_at(self, attempt_id: str) -> float | None:
        """When an attempt started (stores index by day), from memory else the store; None when it is unknown."""
        tracked = self.tracker.get(attempt_id)
        if tracked is not None:
            return tracked.created_at
        attempt = self.find(attempt_id)
        return attempt.created_at if attempt is not None else None

    def label(self, attempt_id: str, label: int | None) -> bool:
        """Record a person's label; False when the attempt is unknown."""
        created_at = self.created_at(attempt_id)
        if created_at is None:
            return False
        self.log.label(attempt_id, label, created_at)
        return True

    def delete(self, attempt_id: str) -> bool:
        """Remove an attempt and its drawing from memory and every table; False when it is unknown.

        Once that is durable, its room's feed is told (``deleted``), so every wall and dashboard drops it.
        """
        created_at = self.created_at(attempt_id)
        if created_at is None:
            return False
        room = self.room_of(attempt_id)
        self.tracker.forget(attempt_id)
        self.log.delete(attempt_id, created_at, DURABLE_TIMEOUT)
        socketio.emit("deleted", {"attempt_id": attempt_id}, to=feed(room))
        return True

    def hide(self, attempt_id: str, hidden: bool) -> Attempt | None:
        """Hide an attempt from its room's wall, or show it again (moderation); None when it is unknown.

        The flag is kept with the attempt (``set_hidden``: no later write of its frames clears it); once
        that is durable the room's feed is told (``hidden``), so every wall and dashboard drops it at once.
        Raises StoreUnavailable when it could not be kept.
        """
        attempt = self.find(attempt_id)
        if attempt is None:
            return None
        self.log.hide(attempt_id, hidden, attempt.created_at, DURABLE_TIMEOUT)
        self.tracker.set_hidden(attempt_id, hidden)  # a frame the drawer sends on does not bring it back
        socketio.emit("hidden", {"attempt_id": attempt_id, "hidden": hidden}, to=feed(attempt.room))
        return replace(attempt, hidden=hidden)

    def health(self) -> dict[str, Any]:
        """Facts a probe can act on: degraded when no worker can classify or the store is unreachable."""
        log_health = self.log.health()
        ready = self.queue.ready_workers()
        status = "ok" if ready and log_health["store"] == "ok" else "degraded"
        return {
            "status": status,
            "model": {
                "loaded": ready > 0,
                "version": self.models.current.version if self.recognizer is None else self.recognizer.version,
                "workers": {"ready": ready, "total": len(self.queue.engines)},
            },
            "store": log_health,
            "queue_depth": self.queue.depth(),
        }

    def close(self) -> None:
        self.models.close()
        if self.started:
            self.queue.close()
            self.results.stop()
            self.log.close()
        self.store.close()
