"""The inference queue: frames from every connection, classified by real worker threads.

* Bounded: when ``max_pending`` frames wait, ``submit`` raises ``Busy`` at once rather
  than letting latency grow without limit.
* Stale frames skipped: a newer frame of the same attempt replaces one that has not
  started yet (it keeps its place in the queue); the replaced one resolves as skipped.
  Final frames are never replaced, so the last answer of every drawing is given.
* Micro-batched: a worker takes up to ``max_batch`` waiting frames, decodes and
  prepares each, and classifies them all in one model call.
"""

from __future__ import annotations

import collections
import logging
import time
from dataclasses import dataclass, field

from model.decode import ImageError, image_bytes
from model.recognizer import Recognition, Recognizer, answer, timed
from server.concurrency import real_threading

log = logging.getLogger("digits.inference")
_threading = real_threading()


class Busy(Exception):
    """Too many frames are waiting; the client should retry shortly."""


@dataclass
class Frame:
    attempt_id: str
    seq: int
    image: str | bytes
    final: bool
    received_at: float = field(default_factory=time.perf_counter)


@dataclass
class Outcome:
    """What a worker made of a frame: a recognition, a rejected image, or skipped as stale."""

    recognition: Recognition | None = None
    error: ImageError | None = None
    raw: bytes | None = None  # the decoded image bytes, for the attempt log
    skipped: bool = False
    latency_ms: float = 0.0


class Job:
    """A frame waiting for its outcome; the event is a real one, safe to set from a worker."""

    def __init__(self, frame: Frame) -> None:
        self.frame = frame
        self.outcome: Outcome | None = None
        self._done = _threading.Event()

    def resolve(self, outcome: Outcome) -> None:
        self.outcome = outcome
        self._done.set()

    def wait(self, timeout: float | None = None) -> Outcome:
        if not self._done.wait(timeout):
            raise TimeoutError("inference took too long")
        assert self.outcome is not None
        return self.outcome


class InferenceQueue:
    def __init__(self, recognizer: Recognizer, workers: int = 2, max_batch: int = 32, max_pending: int = 256) -> None:
        self.recognizer = recognizer
        self.max_batch = max_batch
        self.max_pending = max_pending
        self._pending: collections.OrderedDict[tuple[str, int | None], Job] = collections.OrderedDict()
        self._condition = _threading.Condition(_threading.Lock())
        self._stopping = False
        self._workers = [
            _threading.Thread(target=self._work, name=f"inference-{index}", daemon=True) for index in range(workers)
        ]
        for worker in self._workers:
            worker.start()

    def submit(self, frame: Frame) -> Job:
        """Queue a frame; a waiting non-final frame of the same attempt is replaced and skipped."""
        job = Job(frame)
        key = (frame.attempt_id, frame.seq if frame.final else None)
        with self._condition:
            replaced = self._pending.get(key)
            if replaced is None and len(self._pending) >= self.max_pending:
                raise Busy(f"{len(self._pending)} frames are waiting")
            if replaced is not None and replaced.frame.seq > frame.seq:
                job.resolve(Outcome(skipped=True))
                return job
            self._pending[key] = job
            self._condition.notify()
        if replaced is not None:
            replaced.resolve(Outcome(skipped=True))
        return job

    def depth(self) -> int:
        with self._condition:
            return len(self._pending)

    def close(self) -> None:
        with self._condition:
            self._stopping = True
            self._condition.notify_all()
        for worker in self._workers:
            worker.join(timeout=5)

    def _take(self) -> list[Job]:
        with self._condition:
            while not self._pending and not self._stopping:
                self._condition.wait()
            count = min(self.max_batch, len(self._pending))
            return [self._pending.popitem(last=False)[1] for _ in range(count)]

    def _work(self) -> None:
        while not self._stopping:
            jobs = self._take()
            if jobs:
                try:
                    self._classify(jobs)
                except Exception:  # a worker must survive anything one batch does
                    log.exception("inference batch failed")
                    for job in jobs:
                        if job.outcome is None:
                            job.resolve(Outcome(error=ImageError("The image could not be classified.")))

    def _classify(self, jobs: list[Job]) -> None:
        ready = []
        for job in jobs:
            try:
                raw = image_bytes(job.frame.image, self.recognizer.limits)
                prepared, timings = self.recognizer.prepare(raw)
            except ImageError as error:
                job.resolve(Outcome(error=error))
                continue
            if prepared.image is None:
                self._finish(job, answer(prepared, None, {**timings, "inference_ms": 0.0}), raw)
            else:
                ready.append((job, prepared, timings, raw))
        if not ready:
            return
        probabilities, inference_ms = timed(lambda: self.recognizer.classify([p.image for _, p, _, _ in ready]))
        for (job, prepared, timings, raw), row in zip(ready, probabilities, strict=True):
            share = {**timings, "inference_ms": inference_ms / len(ready)}
            self._finish(job, answer(prepared, row, share), raw)

    @staticmethod
    def _finish(job: Job, recognition: Recognition, raw: bytes) -> None:
        latency = (time.perf_counter() - job.frame.received_at) * 1000.0
        job.resolve(Outcome(recognition=recognition, raw=raw, latency_ms=latency))
