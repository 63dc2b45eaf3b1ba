"""Log every full garbage collection of a Python process: ``bench.connections --gc-log``.

Python imports ``sitecustomize`` at start-up from the first folder on ``PYTHONPATH`` that has
one, so a server started with this folder there (and ``GC_LOG_DIR`` set) records, in every
process it runs (gunicorn's master and worker, the recognizers), each generation-2
collection: when it ended, how long it paused the process, and how many objects it freed.
A full collection walks every live object, so its pause grows with the heap: the suspect
when a thousand idle connections slow the drawers. Nothing is logged without ``GC_LOG_DIR``.
"""

import gc
import os
import time

FOLDER = os.environ.get("GC_LOG_DIR")
_started: list[float] = [0.0]
_files: dict[int, object] = {}


def _log(phase: str, info: dict) -> None:
    if info["generation"] != 2:
        return
    if phase == "start":
        _started[0] = time.perf_counter()
        return
    pid = os.getpid()  # a forked worker writes a file of its own
    if pid not in _files:
        _files[pid] = open(os.path.join(FOLDER, f"gc-{pid}.log"), "a", buffering=1)  # noqa: SIM115 - for the life of the process
    pause_ms = (time.perf_counter() - _started[0]) * 1000.0
    _files[pid].write(f"{time.time():.4f} {pause_ms:.3f} {info['collected']}\n")


if FOLDER:
    gc.callbacks.append(_log)
