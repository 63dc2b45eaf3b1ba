"""How the web process is served; gunicorn reads this file from the working directory.

The Procfile, ``make run`` (``python -m server``), the container and the tests all start
this one stack. One process with an eventlet worker: each connection is a green thread,
so a thousand open sockets (kiosks, forgotten tabs, two classrooms) cost memory, not OS
threads, and ``/healthz`` keeps answering. Recognition, the CPU work, runs in the
recognizer child processes (``server/serving/engines.py``), never on the event loop.
``ASYNC_MODE=threading`` serves with gthread instead (a thread per connection, 64 at most),
for comparison (``bench.live --mode threading``).
"""

import gc
import os

os.environ.setdefault("ASYNC_MODE", "eventlet")  # the worker's create_app() reads it
_threads = os.environ["ASYNC_MODE"] == "threading"

bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"
workers = 1  # more processes: behind a sticky proxy with MESSAGE_QUEUE_URL (README, Scaling)
worker_class = "gthread" if _threads else "eventlet"
threads = 64  # gthread only
worker_connections = 4096  # eventlet only: open connections per process
accesslog = "-"
# No client address, user agent, referrer or query string (it carries Socket.IO session ids and
# room codes): what was asked, the answer and how long it took (README, Security and privacy).
access_log_format = "%(m)s %(U)s %(s)s %(B)s %(M)sms"


def post_worker_init(worker) -> None:
    """Start the service's runtime (recognizer processes, results loop, attempt log) as soon as the
    worker has its app, so the first visitor does not wait for it; ``create_app`` itself starts nothing.

    Then freeze what start-up made (Flask, the libraries, the app): a full garbage collection walks
    every tracked object, and these never become garbage. Measured with ``bench.connections
    --gc-log``: before the freeze a full collection paused the server 72-96 ms with 20 drawers and
    143-197 ms with 1,000 idle connections besides, right in the drawers' p99; after it, 3-39 ms with
    the drawers alone. The idle connections' own objects still cost 86-138 ms a full collection
    (bench/README.md, bench.connections): what is left of issue 23's crowd."""
    worker.wsgi.extensions["service"].start()
    gc.collect()
    gc.freeze()
