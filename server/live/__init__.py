"""Where a frame is received: the Socket.IO handlers and the websocket layer under them.

``handlers.py`` parses each event (``protocol.py``), asks ``server.access`` whether it is allowed and
hands it to ``server.serving``; it never waits for an answer. ``websocket.py`` bounds a message before
it is buffered; ``fast_unmask.py`` makes eventlet unmask client frames in C; ``event_context.py`` is the
Flask class whose Socket.IO event contexts match no URL (a frame leaves no reference cycle).

May import: ``server.access``, ``server.serving``, ``server.storage`` and the top-level modules
(``config``, ``errors``, ``extensions``, ``logs``); never ``server.api``.
"""
