"""Store outages for tests: a store that is down until the test ends the outage."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Outage:
    """A store that is down until ``end()`` is called, and the STORE_URL that reaches it."""

    url: str
    end: Callable[[], object]


def unopenable_sqlite(path: Path) -> Outage:
    """An SQLite store that cannot be opened: a directory stands where its file should be."""
    path.mkdir()
    return Outage(f"sqlite:///{path}", path.rmdir)
