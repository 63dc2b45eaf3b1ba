"""The web process's garbage collector: full collections walk only what is new.

A full (generation-2) collection walks every object the collector tracks, and the process waits
for it. The long-lived objects of a web process are start-up's (Flask, the libraries, the app)
and every open connection's (its socket, green thread and Socket.IO session): with 1,000 idle
connections a full collection paused every drawer 86-138 ms, right in their p99, even with
start-up's objects frozen (``python -m bench.connections --gc-log``, bench/README.md). Almost
none of them become garbage while their connection is open.

So the survivors of every full collection are frozen (``gc.freeze``: moved to a permanent
generation that collections skip), and the next one walks only what arrived since. That also
makes full collections rarer: CPython runs one only when the objects promoted since the last
exceed a quarter of those that survived it, and the frozen ones still count there. A new
connection is frozen as soon as it is admitted (``settle``, from the connect handler), so a
class joining, or a thousand kiosks coming back after a network cut, is not left for the next
full collection to walk. Freezing is a splice of lists: it costs the same for one object as for
a million. What this leaves: with a thousand idle connections one full collection of the web
process in most ten-second windows still takes 24-52 ms. A census of what it walked (32,000
objects: 2,900 eventlet Timers, 3,800 bound methods, 1,500 engine.io Packets, their tuples) is
the crowd's ping machinery, made anew every ping, so no freeze at connect catches it. Freezing
everything every second removes the pause, but also freezes each frame's reference cycles
before they are collected: the web process grew 37 MB in 90 s of drawing instead of 3 MB. Not
done; bench/README.md has the numbers.

Reference counting frees frozen objects as ever. Only a reference cycle among them that is
dropped (some closed connections leave one) waits, for the sweep: every ``GC_SWEEP_SECONDS``
everything is unfrozen, collected once and frozen again. One long pause every ten minutes
instead of one every few seconds of drawing.
"""

from __future__ import annotations

import gc
import logging
import threading
import time

log = logging.getLogger("digits.collector")


class Collector:
    """Freezes the survivors of every full collection; sweeps everything every ``sweep_seconds`` (0: never)."""

    def __init__(self, sweep_seconds: float) -> None:
        self.sweep_seconds = sweep_seconds
        self.sweeps = 0
        self._stopping = threading.Event()
        self._sweeper: threading.Thread | None = None

    def start(self) -> None:
        gc.collect()
        gc.freeze()
        gc.callbacks.append(self._after_collection)
        if self.sweep_seconds > 0:
            self._sweeper = threading.Thread(target=self._sweep_every, name="gc-sweeper", daemon=True)
            self._sweeper.start()

    def stop(self) -> None:
        """Back to CPython's own collector (tests)."""
        self._stopping.set()
        if self._sweeper is not None:
            self._sweeper.join()
        if self._after_collection in gc.callbacks:
            gc.callbacks.remove(self._after_collection)
        gc.unfreeze()

    def settle(self) -> None:
        """A connection was admitted: freeze what exists now (its session, socket and green thread among it)."""
        gc.freeze()

    def sweep(self) -> int:
        """Collect everything once, frozen objects included; the objects freed."""
        started = time.perf_counter()
        gc.unfreeze()
        freed = gc.collect()  # its own callback freezes the survivors again
        self.sweeps += 1
        log.info("swept: %d objects freed, %.0f ms", freed, (time.perf_counter() - started) * 1000.0)
        return freed

    def _after_collection(self, phase: str, info: dict) -> None:
        if phase == "stop" and info["generation"] == 2:
            gc.freeze()

    def _sweep_every(self) -> None:
        while not self._stopping.wait(self.sweep_seconds):
            self.sweep()
