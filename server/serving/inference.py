"""The inference queue: frames from every connection, classified by worker threads (green under eventlet).

* Bounded: when ``max_pending`` frames wait, ``submit`` raises ``Busy`` at once rather
  than letting latency grow without limit.
* Fair per client address: an address may have at most ``max_pending / (active + 1)``
  frames waiting (never fewer than ``min_per_address``), where ``active`` counts the
  addresses with frames waiting. The ``+ 1`` keeps room for a newcomer, so one address
  flooding from many connections gets ``Busy`` itself and never pushes it onto others.
  Batches are taken round-robin by address (oldest first within each), so another
  address's frame waits behind one of the flood's per batch, not behind all of them.
* Stale frames skipped: a newer frame of the same attempt replaces one that has not
  started yet (it keeps its place in the queue); the replaced one resolves as skipped.
  Final frames are never replaced, so the last answer of every drawing is given.
* Micro-batched: a worker takes up to ``max_batch`` waiting frames and hands them to
  its engine (``server/serving/engines.py``), which prepares each and classifies them all in
  one model call. A bad image fails alone; a failed batch fails only its own frames.
"""

from __future__ import annotations

import collections
import logging
import math
import queue
import threading
import time
from dataclasses import dataclass, field

from model.runtime.decode import ImageError, Limits, image_bytes
from model.runtime.recognizer import NumberImage, NumberRecognition, Recognition
from server.errors import NotClassified, Unavailable
from server.serving.engines import Engine

log = logging.getLogger("digits.inference")


class Busy(Exception):
    """Too many frames are waiting; the client should retry shortly."""


@dataclass
class Frame:
    attempt_id: str
    seq: int
    image: str | bytes
    final: bool
    address: str = ""  # the client's, for the fair share (server/access/addresses.py)
    number: bool = False  # read a whole row of digits (``/api/number``) instead of one digit
    room: str = ""  # the classroom the attempt is logged in (server/access/rooms.py)
    explain: bool = False  # also answer with a view inside the network (model/runtime/explain.py)
    sid: str | None = None  # the Socket.IO connection that sent it; None for a REST request
    source: str = "canvas"  # what the attempt is logged as coming from: the page, or a REST route
    received_at: float = field(default_factory=time.perf_counter)


@dataclass
class Outcome:
    """What a worker made of a frame: a recognition, a rejected image, or skipped as stale."""

    recognition: Recognition | NumberRecognition | None = None
    error: ImageError | Unavailable | None = None  # the client's image refused, or the server's failure
    skipped: bool = False
    latency_ms: float = 0.0


class Job:
    """A frame waiting for its outcome.

    A REST request waits on it (``wait``); a live frame's job goes to its ``reply_to``
    queue once resolved, which the results loop (``server/serving/results.py``) reads: the
    worker that classified it never emits, tracks or logs anything itself.
    """

    def __init__(self, frame: Frame, reply_to: queue.Queue | None = None) -> None:
        self.frame = frame
        self.reply_to = reply_to
        self.outcome: Outcome | None = None
        self._done = threading.Event()

    def resolve(self, outcome: Outcome) -> None:
        self.outcome = outcome
        self._done.set()
        if self.reply_to is not None:
            self.reply_to.put(self)

    def wait(self, timeout: float | None = None) -> Outcome:
        if not self._done.wait(timeout):
            raise TimeoutError("inference took too long")
        assert self.outcome is not None
        return self.outcome


class InferenceQueue:
    """One worker thread per engine; ``engines=[]`` makes a queue that only fills (for tests)."""

    def __init__(
        self,
        engines: list[Engine],
        limits: Limits,
        max_batch: int = 32,
        max_pending: int = 256,
        min_per_address: int = 8,
    ) -> None:
        self.engines = engines
        self.limits = limits
        self.max_batch = max_batch
        self.max_pending = max_pending
        self.min_per_address = min_per_address
        self._pending: collections.OrderedDict[tuple[str, int | None], Job] = collections.OrderedDict()
        self._by_address: collections.Counter[str] = collections.Counter()  # waiting frames per address
        self._condition = threading.Condition(threading.Lock())
        self._stopping = False
        self._workers = [
            threading.Thread(target=self._work, args=(engine,), name=f"inference-{index}", daemon=True)
            for index, engine in enumerate(engines)
        ]
        for worker in self._workers:
            worker.start()

    def submit(self, frame: Frame, reply_to: queue.Queue | None = None) -> Job:
        """Queue a frame; a waiting non-final frame of the same attempt is replaced and skipped.

        With ``reply_to`` the resolved job (skipped ones too) is put there; without, wait on it.
        """
        job = Job(frame, reply_to)
        key = (frame.attempt_id, frame.seq if frame.final else None)
        with self._condition:
            replaced = self._pending.get(key)
            if replaced is None:
                self._check_room(frame.address)
            if replaced is not None and replaced.frame.seq > frame.seq:
                job.resolve(Outcome(skipped=True))
                return job
            if replaced is not None:
                self._uncount(replaced)
            self._pending[key] = job
            self._by_address[frame.address] += 1
            self._condition.notify()
        if replaced is not None:
            replaced.resolve(Outcome(skipped=True))
        return job

    def share(self, address: str) -> int:
        """How many frames ``address`` may have waiting now; called with the lock held."""
        active = len(self._by_address) + (address not in self._by_address)
        return max(self.min_per_address, self.max_pending // (active + 1))

    def _check_room(self, address: str) -> None:
        """Raise ``Busy`` when the queue is full or the address has its fair share waiting (lock held)."""
        if len(self._pending) >= self.max_pending:
            raise Busy(f"{len(self._pending)} frames are waiting")
        if self._by_address[address] >= self.share(address):
            raise Busy(f"{self._by_address[address]} frames from this address are waiting")

    def _round_robin(self, count: int) -> list[tuple[str, int | None]]:
        """The keys of the next ``count`` jobs: each address's oldest, then each one's next, and so on (lock held)."""
        by_address: dict[str, collections.deque] = {}
        for key, job in self._pending.items():
            by_address.setdefault(job.frame.address, collections.deque()).append(key)
        keys: list[tuple[str, int | None]] = []
        while len(keys) < count:
            for waiting in by_address.values():
                if waiting and len(keys) < count:
                    keys.append(waiting.popleft())
        return keys

    def _pop(self, key: tuple[str, int | None]) -> Job:
        """Take a waiting job off the queue and its address's count (lock held)."""
        job = self._pending.pop(key)
        self._uncount(job)
        return job

    def _uncount(self, job: Job) -> None:
        """A job left the queue: its address has one frame fewer waiting, and is inactive at none (lock held)."""
        address = job.frame.address
        self._by_address[address] -= 1
        if self._by_address[address] <= 0:
            del self._by_address[address]

    def depth(self) -> int:
        with self._condition:
            return len(self._pending)

    def ready_workers(self) -> int:
        """How many workers could classify a frame now: thread running and engine alive."""
        return sum(
            worker.is_alive() and engine.alive() for worker, engine in zip(self._workers, self.engines, strict=True)
        )

    def close(self) -> None:
        with self._condition:
            self._stopping = True
            self._condition.notify_all()
        for worker in self._workers:
            worker.join(timeout=5)
        for engine in self.engines:
            engine.close()

    def _take(self) -> list[Job]:
        """The oldest waiting frames, a fair share of them: a worker that took them all would make
        every frame wait for the whole batch while the other workers sit idle."""
        with self._condition:
            while not self._pending and not self._stopping:
                self._condition.wait()
            count = min(self.max_batch, math.ceil(len(self._pending) / max(1, len(self._workers))))
            return [self._pop(key) for key in self._round_robin(count)]

    def _work(self, engine: Engine) -> None:
        while not self._stopping:
            jobs = self._take()
            if jobs:
                try:
                    self.classify(jobs, engine)
                except Exception:  # a worker must survive anything one batch does
                    log.exception("inference batch failed")
                    failed = NotClassified("The server failed to classify this frame; send it again.")
                    for job in jobs:
                        if job.outcome is None:
                            job.resolve(Outcome(error=failed))

    def classify(self, jobs: list[Job], engine: Engine) -> None:
        """Resolve every job of a batch: base64 is undone here, the rest happens in the engine."""
        ready = []
        for job in jobs:
            try:
                ready.append((job, image_bytes(job.frame.image, self.limits)))
            except ImageError as error:
                job.resolve(Outcome(error=error))
        if not ready:
            return
        items = [NumberImage(raw) if job.frame.number else raw for job, raw in ready]
        final = [job.frame.final for job, _ in ready]  # final frames keep their drawings
        results = engine(items, final, [job.frame.explain for job, _ in ready])
        for (job, _), result in zip(ready, results, strict=True):
            if isinstance(result, ImageError):
                job.resolve(Outcome(error=result))
            else:
                latency = (time.perf_counter() - job.frame.received_at) * 1000.0
                job.resolve(Outcome(recognition=result, latency_ms=latency))
