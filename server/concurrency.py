"""Real OS threads and blocking waits that work the same under threading and eventlet.

The model must never run on an event loop or a green thread: under eventlet a
CPU-bound call freezes every connection, and a monkey-patched lock shared with a real
thread can deadlock. So inference workers are always real threads built from the
unpatched ``threading`` module, and a green thread that must wait for one does so
through ``eventlet.tpool``, which parks only that green thread.

``when_done`` is how a Socket.IO handler gets its answer without waiting at all: under
threading the worker thread delivers it itself; under eventlet a real thread must not
touch eventlet's queues, so a green thread waits for the outcome and delivers it.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from types import ModuleType
from typing import Protocol, TypeVar

T = TypeVar("T")


class Resolvable(Protocol[T]):
    """A unit of work that a real thread resolves (``server.inference.Job``)."""

    def wait(self, timeout: float | None = None) -> T: ...

    def add_done_callback(self, callback: Callable[[T], None]) -> None: ...


def eventlet_active() -> bool:
    """True when eventlet has monkey-patched threads in this process."""
    if "eventlet" not in sys.modules:
        return False
    from eventlet import patcher

    return patcher.is_monkey_patched("thread")


def real_threading() -> ModuleType:
    """The unpatched ``threading`` module (the normal one when eventlet is not in use)."""
    if eventlet_active():
        from eventlet import patcher

        return patcher.original("threading")
    return threading


def wait_for(function: Callable[..., T], *args) -> T:
    """Call a function that blocks on a real thread, without blocking the event loop."""
    if eventlet_active():
        from eventlet import tpool

        return tpool.execute(function, *args)
    return function(*args)


def when_done(job: Resolvable[T], callback: Callable[[T], None], timeout: float) -> None:
    """Run ``callback(outcome)`` once ``job`` is resolved, in a thread that may emit Socket.IO events."""
    if eventlet_active():
        import eventlet

        eventlet.spawn_n(lambda: callback(wait_for(job.wait, timeout)))
    else:
        job.add_done_callback(callback)
