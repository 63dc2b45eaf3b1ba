"""Where a frame is queued, recognized and answered: the service and the runtime it starts.

``service.py`` (``RecognitionService``) is what the handlers and the REST API call. A frame goes
into the inference queue (``inference.py``), a worker hands its batch to a recognizer process
(``engines.py``; forked by the template: ``forking.py``, ``model/runtime/template.py``), and the
results loop (``results.py``) counts it in the tracker (``tracker.py``), logs its attempt and emits its answer.

May import: ``model.runtime``, ``server.access``, ``server.storage``, ``server.versions`` and the
top-level modules; never ``server.live`` or ``server.api``, which call it.
"""
