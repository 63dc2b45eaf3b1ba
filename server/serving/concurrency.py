"""Which concurrency the process runs under; everything else is plain ``threading``.

Under eventlet the process is monkey-patched, so ``threading`` makes green threads and
green locks, and every thread of the server (inference workers, the attempt log's
writer, the results loop, the model switch) is one of them: they wait on pipes, sockets
and events, which eventlet turns into cooperative waits. No CPU-bound work may run there: a green thread
that computes freezes every connection, which is why recognition always happens in the
recognizer child processes under eventlet (``server/serving/engines.py``), never in the web
process. Under threading the same code makes real threads.
"""

from __future__ import annotations

import sys


def eventlet_active() -> bool:
    """True when eventlet has monkey-patched threads in this process."""
    if "eventlet" not in sys.modules:
        return False
    from eventlet import patcher

    return patcher.is_monkey_patched("thread")
