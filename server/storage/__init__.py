"""Where an attempt is logged: the attempt record, the log that makes it durable, and the stores.

``attempt_log.py`` batches writes off the event loop and spools them when the store is down;
``store.py`` is the interface, ``sqlite.py`` and ``cassandra.py`` implement it, ``urls.py`` opens one
from ``STORE_URL``. ``label_export.py`` and ``stats.py`` read it back for retraining and the dashboard.

May import: ``model.runtime`` (the labelled-set format, metrics) and the top-level modules.
"""
