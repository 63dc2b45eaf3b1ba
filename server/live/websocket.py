"""Websocket limits that hold before a message is buffered, whatever the server stack.

* No permessage-deflate. A client may offer it, and both websocket stacks (simple-websocket
  under threading, eventlet's own) accept by default and inflate a message with no bound:
  a 400 KB compressed message became 420 MB inside the web process. Frames are PNG or WebP,
  already compressed, so compression buys nothing; dropping the offer from the handshake
  means it is never negotiated, and a compressed frame is a protocol error.
* A message larger than the frame limit is refused (close code 1009) as it arrives, not
  after it has been read in full. Eventlet's websocket gets the limit from Engine.IO
  (``max_frame_length``); simple-websocket is given it here.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any

from flask_socketio import SocketIO

WsgiApp = Callable[[dict[str, Any], Callable], Iterable[bytes]]


class NoCompression:
    """WSGI middleware: the websocket handshake never sees an offer of compression."""

    def __init__(self, app: WsgiApp) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        environ.pop("HTTP_SEC_WEBSOCKET_EXTENSIONS", None)
        return self.app(environ, start_response)


def limit_message_size(socketio: SocketIO, max_bytes: int) -> None:
    """Have simple-websocket close a connection once one message passes ``max_bytes``.

    Engine.IO builds its threading-mode websocket as ``SimpleWebSocketWSGI(handler, server)``
    and hands that class's keyword arguments to ``simple_websocket.Server``; it passes none,
    so this binds ``max_message_size`` for this server only (not for other apps in the process).
    """
    from engineio.async_drivers._websocket_wsgi import SimpleWebSocketWSGI

    engine = socketio.server.eio
    if engine._async.get("websocket") is SimpleWebSocketWSGI:
        engine._async = {
            **engine._async,
            "websocket": functools.partial(SimpleWebSocketWSGI, max_message_size=max_bytes),
        }
