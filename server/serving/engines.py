"""Where a batch of frames is recognized: in the worker thread itself, or in a child process.

Decoding and preprocessing a frame is a few hundred small NumPy and Pillow calls:
in threads they all wait for the one GIL, so the server uses a single core however many
the machine has, and the Socket.IO work of every connection waits behind them. A
``RecognizerProcess`` moves that work to a child process that owns its own recognizer;
the server only sends raw image bytes down a pipe and gets Recognitions back (preview
PNG included). A child that dies (a decoder crash, the OOM killer) or hangs past
``batch_timeout`` costs only the batch it was working on; a fresh child takes over.

A live model swap (``swap``) never interrupts a batch: the batch in flight finishes on the
model it started with, and the next one uses the new model (a child loads it when that
batch arrives, as the server's wish travels with every batch).

``LocalEngine`` does the same work in the calling thread (``INFERENCE_PROCESSES=false``):
for a small kiosk that cannot spare a child's memory, or a platform that cannot start
processes; the queue's own tests use it too.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import threading
import time
from collections.abc import Sequence
from typing import Protocol

from model.runtime import kernels
from model.runtime.decode import ImageError, Limits
from model.runtime.recognizer import NumberImage, NumberRecognition, Recognition, Recognizer
from model.runtime.worker import Channel
from server.serving.forking import recognizer_template

log = logging.getLogger("digits.engines")
Recognitions = list[Recognition | NumberRecognition | ImageError]
Items = Sequence[bytes | NumberImage]  # a digit's image bytes, or an image to read as a number


class EngineFailed(RuntimeError):
    """The engine could not answer a batch (its child process died); the next batch gets a new one."""


class Engine(Protocol):
    def __call__(
        self, raws: Items, keep: Sequence[bool] | None = None, explain: Sequence[bool] | None = None
    ) -> Recognitions:
        """One result or ImageError per item; ``keep`` marks the images whose drawing is stored, ``explain``
        those whose Recognition also carries an explanation (model/runtime/explain.py)."""
        ...

    def alive(self) -> bool:
        """Whether the next batch can be recognized, for the health check."""
        ...

    def swap(self, recognizer: Recognizer) -> None: ...

    def close(self) -> None: ...


class LocalEngine:
    """Recognize in the calling thread."""

    def __init__(self, recognizer: Recognizer) -> None:
        self.recognizer = recognizer
        kernels.warm()  # numba loaded now, as a recognizer process does, not during the first frame

    def __call__(
        self, raws: Items, keep: Sequence[bool] | None = None, explain: Sequence[bool] | None = None
    ) -> Recognitions:
        # One read of the recognizer: a swap mid-batch does not touch this batch.
        return self.recognizer.recognize_items(raws, keep, explain)

    def swap(self, recognizer: Recognizer) -> None:
        self.recognizer = recognizer

    def alive(self) -> bool:
        return True  # the recognizer lives in this process

    def close(self) -> None:
        pass


class RecognizerProcess:
    """A recognizer in a child process, used by one worker thread at a time.

    The child is forked by the recognizer template (``server/serving/forking.py``), so it shares
    the template's loaded libraries and compiled kernels, and talks over two pipes: a batch is a
    blocking write and read, which under eventlet (the pipes are green there) parks only the green
    worker thread. A watchdog kills a child that overruns ``batch_timeout``, which ends that
    read, so the hot path needs no timeout of its own.
    """

    def __init__(self, model_path: str, card_path: str, limits: Limits, batch_timeout: float = 30.0) -> None:
        self._args = (str(model_path), str(card_path), limits)
        self.batch_timeout = batch_timeout  # generous: it also covers the child's start (imports, model load)
        self._deadline: float | None = None  # when the batch in flight is overdue
        self._hung = False
        self._closed = threading.Event()
        self._start()
        threading.Thread(target=self._watch, name="recognizer-watchdog", daemon=True).start()

    def _start(self) -> None:
        model_path, card_path, limits = self._args
        settings = {"model_path": model_path, "card_path": card_path, **dataclasses.asdict(limits)}
        self._process, reader, writer = recognizer_template().spawn(settings)
        self._files = (reader, writer)
        self._connection = Channel(reader, writer)

    def __call__(
        self, raws: Items, keep: Sequence[bool] | None = None, explain: Sequence[bool] | None = None
    ) -> Recognitions:
        self._hung = False
        self._deadline = time.monotonic() + self.batch_timeout
        model_path, card_path, _ = self._args
        try:
            keep = [True] * len(raws) if keep is None else list(keep)
            explain = [False] * len(raws) if explain is None else list(explain)
            self._connection.send(((model_path, card_path), list(raws), keep, explain))
            return self._connection.recv()
        except (EOFError, OSError) as error:
            if self._hung:
                log.error("recognizer process %s hung for %s s; starting a new one", self.pid, self.batch_timeout)
            else:
                log.error("recognizer process %s died (exit code %s); starting a new one", self.pid, self._exit_code())
            self._restart()
            what = "took too long over" if self._hung else "died while working on"
            raise EngineFailed(f"The recognizer process {what} this batch.") from error
        finally:
            self._deadline = None

    def _watch(self) -> None:
        while not self._closed.wait(min(1.0, self.batch_timeout / 4)):
            deadline, process = self._deadline, self._process
            if deadline is not None and time.monotonic() > deadline and process.poll() is None:
                self._hung = True
                process.kill()  # the worker's blocking read then fails, and it starts a new child

    def alive(self) -> bool:
        """False once the child has died (until the next batch replaces it) or the engine is closed."""
        return not self._closed.is_set() and self._process.poll() is None

    def swap(self, recognizer: Recognizer) -> None:
        """Ask for ``recognizer``'s model from the next batch on (and from any replacement child)."""
        if recognizer.files is None:
            raise ValueError("a recognizer process needs a recognizer loaded from files")
        model_path, card_path = recognizer.files
        self._args = (str(model_path), str(card_path), recognizer.limits)

    @property
    def pid(self) -> int | None:
        return self._process.pid

    def _exit_code(self) -> int | None:
        return self._process.wait(timeout=1)

    def _restart(self) -> None:
        self._stop()
        self._start()

    def _stop(self) -> None:
        for end in self._files:
            with contextlib.suppress(OSError):
                end.close()  # the child's read ends and it exits
        if self._process.wait(timeout=5) is None:
            self._process.kill()
            self._process.wait(timeout=5)

    def close(self) -> None:
        self._closed.set()
        self._stop()
