"""The Flask application class: a Socket.IO event's request context matches no URL.

Flask-SocketIO runs every event (every frame) inside ``app.request_context(environ)``, built from
the environ of the connection's handshake: ``/socket.io/``, a path no route serves. Flask then
matches that path against the URL map on every event and fails: werkzeug raises ``NoMatch``,
Flask keeps the ``NotFound`` it becomes as ``request.routing_exception``, and its traceback holds
the frames that hold the request. Each frame left about 56 objects in reference cycles
(traceback, frames, cells, the request and its contexts, the Socket.IO and Engine.IO packets in
those frames' locals) that only a garbage collection frees, and paid for two exceptions on the
event loop besides. Counted with ``gc.DEBUG_SAVEALL`` on the served stack (bench/README.md, bench.connections).

An event has no URL to match: its handler is found by the event's name. So a Socket.IO event's
context gets no URL adapter (``request.url_rule`` and ``request.endpoint`` stay ``None``, as they
do for an unmatched URL; nothing in ``server/live`` builds URLs), and a frame leaves no cycle.
"""

from __future__ import annotations

from flask import Flask, Request
from werkzeug.routing import MapAdapter

SOCKETIO_PATH = "/socket.io"  # Engine.IO's default path, which the handshake (and so every event's environ) has


class App(Flask):
    """Flask, with no URL matching in a Socket.IO event's request context."""

    def create_url_adapter(self, request: Request | None) -> MapAdapter | None:
        if request is not None and is_socketio_event(request.environ):
            return None
        return super().create_url_adapter(request)


def is_socketio_event(environ: dict) -> bool:
    """The environ is a Socket.IO connection's: Engine.IO answers its HTTP requests before Flask routes any."""
    return environ.get("PATH_INFO", "").startswith(SOCKETIO_PATH)
