"""Store outages for tests: a store that is down until the test ends the outage."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from scripts.cassandra_node import CACHE, Node


@dataclass
class Outage:
    """A store that is down until ``end()`` is called, and the STORE_URL that reaches it."""

    url: str
    end: Callable[[], object]


def unopenable_sqlite(path: Path) -> Outage:
    """An SQLite store that cannot be opened: a directory stands where its file should be."""
    path.mkdir()
    return Outage(f"sqlite:///{path}", path.rmdir)


def own_cassandra_node(name: str, port: int, storage_port: int) -> Iterator[Node]:
    """A Cassandra node of a test's own (for a test that stops or kills it), stopped after the test."""
    node = Node(CACHE / name, port=port, storage_port=storage_port)
    node.start()
    yield node
    node.stop()
