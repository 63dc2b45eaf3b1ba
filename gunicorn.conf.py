"""How the web process is served; gunicorn reads this file from the working directory.

The Procfile, ``make run`` (``python -m server``), the container and the tests all start
this one stack. One process with an eventlet worker: each connection is a green thread,
so a thousand open sockets (kiosks, forgotten tabs, two classrooms) cost memory, not OS
threads, and ``/healthz`` keeps answering. Recognition, the CPU work, runs in the
recognizer child processes (``server/serving/engines.py``), never on the event loop.
``ASYNC_MODE=threading`` serves with gthread instead (a thread per connection, 64 at most),
for comparison (``bench.live --mode threading``).
"""

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

    Then the garbage collector freezes what start-up made and what survives each full collection
    (``server/collector.py``): a full collection walked every connection's objects and paused all
    of them, 86-138 ms with 1,000 idle connections (``bench.connections --gc-log``)."""
    from server.collector import Collector  # here, in the worker: the master imports none of the server (26 MB)

    app = worker.wsgi
    app.extensions["service"].start()
    app.extensions["collector"] = Collector(app.config["GC_SWEEP_SECONDS"])
    app.extensions["collector"].start()
