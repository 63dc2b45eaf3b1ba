"""All configuration in one place: defaults, then environment variables, then a test dict.

Every setting can be given as an environment variable of the same name; values are
parsed to the type of the default.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

DEFAULTS: dict[str, Any] = {
    # Where attempts are logged: sqlite:///path.db (embedded default) or cassandra://h1,h2:9042/keyspace
    "STORE_URL": f"sqlite:///{ROOT / 'data' / 'attempts.db'}",
    # The durable local spool that keeps attempts while the store is unreachable.
    "SPOOL_PATH": str(ROOT / "data" / "spool.db"),
    # The teacher key (see server/access/teacher.py). Empty: one is made on first start and kept,
    # with the server's other local state, in DATA_DIR/teacher_token (mode 0600).
    "TEACHER_TOKEN": "",
    "DATA_DIR": str(ROOT / "data"),
    "HOST": "127.0.0.1",
    "PORT": 8000,
    # What create_app() runs under when nothing sets it: threading, for `flask run` and the in-process tests.
    # `make run`, the Procfile and the container serve through gunicorn.conf.py, which sets eventlet.
    "ASYNC_MODE": "threading",
    # redis://host:6379/0 lets several server processes share Socket.IO broadcasts (the dashboard feed).
    "MESSAGE_QUEUE_URL": "",
    "MODEL_PATH": str(ROOT / "model" / "digits.tflite"),
    "MODEL_CARD_PATH": str(ROOT / "model" / "digits.json"),
    # Retrained model versions, and the "active" pointer every process follows (the committed
    # model above is the built-in first version). Without a message queue, processes look at
    # the pointer this often; with one, a promotion reaches them at once.
    "MODELS_DIR": str(ROOT / "data" / "models"),
    "MODEL_POLL_SECONDS": 1.0,
    # A retrain started from the dashboard in fast mode (one short epoch): for tests and demos.
    "RETRAIN_FAST": False,
    # Inference workers are real OS threads; frames wait in a bounded queue. With
    # INFERENCE_PROCESSES each worker hands its batches to its own child process, so the
    # CPU work runs off the server's GIL (see server/serving/engines.py); off, it runs in the thread.
    "INFERENCE_WORKERS": 2,
    "INFERENCE_PROCESSES": True,
    "MAX_BATCH": 32,
    "MAX_PENDING": 256,
    # Untrusted input limits. A 1000 px kiosk canvas PNG is far below these.
    "MAX_FRAME_BYTES": 2 * 1024 * 1024,
    "MAX_UPLOAD_BYTES": 5 * 1024 * 1024,
    "MAX_IMAGE_PIXELS": 4096 * 4096,
    # The drawing kept with an attempt is a metadata-free PNG of its pixels (model/runtime/drawing.py), shrunk to
    # fit this bound (else none is kept); STORE_IMAGES=false keeps only the 28x28 input and the result.
    "MAX_STORED_IMAGE_BYTES": 512 * 1024,
    "STORE_IMAGES": True,
    # Privacy by default: attempts are forgotten after this many days (a float, so tests can use
    # seconds; 0 keeps them forever). Cassandra rows expire by TTL; SQLite and the spool are purged.
    "RETENTION_DAYS": 30.0,
    # How often the attempt log purges expired attempts from SQLite and the spool.
    "PURGE_SECONDS": 3600.0,
    # Per connection: sustained frames per second and burst.
    "RATE_LIMIT_PER_SECOND": 30.0,
    "RATE_LIMIT_BURST": 60,
    # A connection that keeps sending over its rate: each refused frame costs a strike (they come back at
    # its rate), and with none left it is disconnected and its address may not connect for a while.
    "FLOOD_STRIKES": 120,
    "FLOOD_COOLDOWN_SECONDS": 30.0,
    # Per client address (server/access/limits.py), across all its connections and reconnects.
    # A classroom behind one NAT is ~30 devices, each with a page and perhaps a second tab:
    # 50 connections leaves room for that and still stops a script opening thousands.
    "MAX_CONNECTIONS_PER_ADDRESS": 50,
    # Frames per second per address: 30 pupils drawing (the page sends ~8 frames/s while a
    # stroke moves) fit; one address cannot take the whole server.
    "ADDRESS_RATE_LIMIT_PER_SECOND": 300.0,
    "ADDRESS_RATE_LIMIT_BURST": 600,
    # Classrooms a teacher opens (server/access/rooms.py): a six-digit code, closed after this long unused.
    "ROOM_IDLE_MINUTES": 240.0,
    # An opened room's connections and frames count against its own budget, not the address's: a whole
    # school behind one NAT joins one room. 60 drawers at the page's pace (8 frames/s) is 480 frames/s.
    "ROOM_MAX_CONNECTIONS": 300,
    "ROOM_RATE_LIMIT_PER_SECOND": 600.0,
    "ROOM_RATE_LIMIT_BURST": 1200,
    # Misses on a room code per address: enough for typos, far too few to try the million codes.
    "ROOM_GUESSES_PER_MINUTE": 10.0,
    "ROOM_GUESSES_BURST": 10,
    # Free-form rooms (/?room=7B, no key needed; address limits) stay unless set to false.
    "FREE_ROOMS": True,
    # REST requests per second per address (predict, number, labels, reads): 429 with Retry-After past it.
    "REST_RATE_LIMIT_PER_SECOND": 20.0,
    "REST_RATE_LIMIT_BURST": 60,
    # The inference queue's share per address is MAX_PENDING / (active addresses + 1), never
    # below this floor: a newcomer always finds room, whoever floods (server/serving/inference.py).
    "MIN_PENDING_PER_ADDRESS": 8,
    # Same-origin only unless origins are listed (comma-separated, or * for any).
    "CORS_ORIGINS": "",
    # How many reverse proxies (nginx) stand in front: their X-Forwarded-For and X-Forwarded-Proto
    # are trusted (werkzeug's ProxyFix), nobody else's. 0: the server faces clients directly.
    "PROXY_COUNT": 0,
    # The address pupils open, for a classroom's join link and QR code (server/api/rooms.py); empty:
    # the address the teacher's request came to (right unless a proxy rewrites the host).
    "PUBLIC_URL": "",
    # How often the attempt log writes to the store, and retries it while it is down.
    "LOG_FLUSH_SECONDS": 0.25,
    "STORE_RETRY_SECONDS": 1.0,
    # The web process freezes what survives each young garbage collection, so no collection walks the
    # connections; this often it collects everything once, to free the reference cycles that closed
    # connections left among the frozen (server/collector.py). 0: never.
    "GC_SWEEP_SECONDS": 600.0,
    "TESTING": False,
}


def parse(value: str, like: Any) -> Any:
    """An environment string as the type of its default."""
    if isinstance(like, bool):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    if isinstance(like, int):
        return int(value)
    if isinstance(like, float):
        return float(value)
    return value


def load_config(test_config: dict[str, Any] | None = None, environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Defaults, overridden by the environment, overridden by ``test_config``."""
    environ = os.environ if environ is None else environ
    config = dict(DEFAULTS)
    for key, default in DEFAULTS.items():
        if key in environ:
            config[key] = parse(environ[key], default)
    config.update(test_config or {})
    return config
