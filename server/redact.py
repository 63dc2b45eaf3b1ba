"""URLs as they may be logged or shown: never with a password."""

from __future__ import annotations

from urllib.parse import urlsplit


def redacted(url: str) -> str:
    """``url`` with its password (if any) replaced by ``***`` and its query dropped (it may hold secrets too)."""
    base = url.split("?", 1)[0].split("#", 1)[0]
    netloc = urlsplit(url).netloc
    credentials, at, hosts = netloc.rpartition("@")
    if not at or ":" not in credentials:
        return base
    user = credentials.partition(":")[0]
    return base.replace(netloc, f"{user}:***@{hosts}", 1)
