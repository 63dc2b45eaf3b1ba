"""The web process's garbage collector: no collection walks the connections.

A full (generation-2) collection walks every object the collector tracks, and the process waits
for it. The long-lived objects of a web process are start-up's (Flask, the libraries, the app)
and every open connection's (its socket, green thread and Socket.IO session, and the ping
machinery each ping makes anew: eventlet Timers, bound methods, Engine.IO packets). With 1,000
idle connections a full collection paused every drawer 86-138 ms, right in their p99, even with
start-up's objects frozen; freezing what survived each full collection and each new connection
left 24-52 ms, the ping machinery (a census of one such collection: 32,000 objects, 2,900 eventlet
Timers, 3,800 bound methods, 1,500 Engine.IO packets; ``python -m bench.connections --gc-log``,
bench/README.md).

So whatever survives a collection of generation 1 or 2 is frozen (``gc.freeze``: moved to a
permanent generation that collections skip). An object is looked at by two young collections,
which free whatever reference cycle it was part of and already dropped, and is then left alone:
no collection walks the crowd, and a full collection walks only what arrived since the last young
one. Freezing is a splice of lists: it costs the same for one object as for a million.

This is safe for memory only because the served path makes no reference cycles: a cycle still
alive when it is frozen waits for the sweep below once it is dropped. The last per-frame cycle
(Flask matching every Socket.IO event's ``/socket.io`` path and keeping the ``NotFound`` with its
traceback, ``server/live/event_context.py``) is gone: ``tests/app/test_reference_cycles.py`` checks
that a frame, a final attempt and a refused frame leave none, and a REST prediction only werkzeug's
small URL-matcher cycle, which is garbage at once and so collected, never frozen. Idle connections'
pings made none in a census of the served stack (bench/README.md). Before that fix, freezing this
often grew the web process 37 MB in 90 s of drawing; after it, 6 MB, as the tree before.

Reference counting frees frozen objects as ever. Only a reference cycle among them that is
dropped (a closed connection leaves one or two) waits, for the sweep: every ``GC_SWEEP_SECONDS``
everything is unfrozen, collected once and frozen again. One long pause every ten minutes.
"""

from __future__ import annotations

import gc
import logging
import threading
import time

log = logging.getLogger("digits.collector")


class Collector:
    """Freezes the survivors of generation 1 and 2 collections; sweeps all every ``sweep_seconds`` (0: never)."""

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

    def sweep(self) -> int:
        """Collect everything once, frozen objects included; the objects freed."""
        started = time.perf_counter()
        gc.unfreeze()
        freed = gc.collect()  # its own callback freezes the survivors again
        self.sweeps += 1
        log.info("swept: %d objects freed, %.0f ms", freed, (time.perf_counter() - started) * 1000.0)
        return freed

    def _after_collection(self, phase: str, info: dict) -> None:
        if phase == "stop" and info["generation"] >= 1:
            gc.freeze()

    def _sweep_every(self) -> None:
        while not self._stopping.wait(self.sweep_seconds):
            self.sweep()
