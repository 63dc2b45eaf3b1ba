"""Which concurrency the process runs under; everything else is plain ``threading``.

Under eventlet the process is monkey-patched, so ``threading`` makes green threads and
green locks, and every thread of the server (inference workers, the attempt log's
writer, the results loop, the model switch) is one of them: they wait on pipes, sockets
and events, which eventlet turns into cooperative waits. No CPU-bound work may run there: a green thread
that computes freezes every connection, which is why recognition always happens in the
recognizer child processes under eventlet (``server/serving/engines.py``), never in the web
process. Under threading the same code makes real threads.

Nor may a green thread block in C: a SQLite commit waits for its fsync (10 ms typically on
this project's disk, 50-200 ms at times), and eventlet cannot switch away from a call it
does not know. ``off_the_loop`` runs such a call in one of eventlet's real OS threads
(``tpool``) while the hub serves every other connection; SQLite releases the GIL while it
waits on the disk. Every blocking store call goes through it (``server/storage/sqlite.py``
and the attempt log's spool).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


def eventlet_active() -> bool:
    """True when eventlet has monkey-patched threads in this process."""
    if "eventlet" not in sys.modules:
        return False
    from eventlet import patcher

    return patcher.is_monkey_patched("thread")


def off_the_loop(function: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """``function(*args, **kwargs)``, in a real OS thread under eventlet, so the event loop serves on meanwhile.

    The caller's green thread waits; any lock it holds stays held, so calls on one
    connection stay one at a time. Exceptions are raised in the caller, as a direct call
    would."""
    if not eventlet_active():
        return function(*args, **kwargs)
    from eventlet import tpool

    return tpool.execute(function, *args, **kwargs)
