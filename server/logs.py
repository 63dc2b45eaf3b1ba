"""Structured logs: one JSON object per line, easy to ship and to grep; URLs in them never carry a password."""

from __future__ import annotations

import json
import logging
import time
from urllib.parse import urlsplit


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def configure_logging(level: int = logging.INFO) -> None:
    """JSON lines on stderr for the app's loggers; idempotent."""
    logger = logging.getLogger("digits")
    if any(isinstance(handler.formatter, JsonFormatter) for handler in logger.handlers):
        return
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False


def redacted(url: str) -> str:
    """``url`` with its password (if any) replaced by ``***`` and its query dropped (it may hold secrets too)."""
    base = url.split("?", 1)[0].split("#", 1)[0]
    netloc = urlsplit(url).netloc
    credentials, at, hosts = netloc.rpartition("@")
    if not at or ":" not in credentials:
        return base
    user = credentials.partition(":")[0]
    return base.replace(netloc, f"{user}:***@{hosts}", 1)
