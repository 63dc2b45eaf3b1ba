"""Real OS threads and blocking waits that work the same under threading and eventlet.

The model must never run on an event loop or a green thread: under eventlet a
CPU-bound call freezes every connection, and a monkey-patched lock shared with a real
thread can deadlock. So inference workers are always real threads built from the
unpatched ``threading`` module, and a green thread that must wait for one does so
through ``eventlet.tpool``, which parks only that green thread.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from types import ModuleType
from typing import TypeVar

T = TypeVar("T")


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
