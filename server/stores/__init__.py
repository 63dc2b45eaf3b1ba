"""Attempt stores: embedded SQLite (the default) and Apache Cassandra, behind one interface."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol
from urllib.parse import parse_qs, urlparse

from server.attempts import Attempt


class StoreUnavailable(Exception):
    """The store cannot be reached right now; the caller spools and retries."""


class Store(Protocol):
    """What the attempt log and the API need from a database."""

    def create_schema(self) -> None: ...
    def upsert(self, attempts: list[Attempt]) -> None: ...
    def set_label(self, attempt_id: str, label: int | None, created_at: float) -> None: ...
    def delete(self, attempt_id: str, created_at: float) -> None: ...
    def get(self, attempt_id: str) -> Attempt | None: ...
    def recent(self, limit: int, before: float | None, room: str = "") -> list[Attempt]: ...
    def outcomes(self, since: float, room: str = "") -> list[tuple[int | None, int | None]]: ...
    def labelled(self, page_size: int = 500) -> Iterator[Attempt]: ...
    def ping(self) -> None: ...
    def close(self) -> None: ...


def open_store(url: str) -> Store:
    """A store for ``sqlite:///path`` or ``cassandra://host1,host2:port/keyspace?replication_factor=&consistency=``."""
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        from server.stores.sqlite import SqliteStore

        return SqliteStore(parsed.path)
    if parsed.scheme == "cassandra":
        from server.stores.cassandra import CassandraStore

        hosts, _, port = parsed.netloc.partition(":")
        options = {key: values[-1] for key, values in parse_qs(parsed.query).items()}
        return CassandraStore(
            hosts=[host for host in hosts.split(",") if host] or ["127.0.0.1"],
            port=int(port or 9042),
            keyspace=parsed.path.strip("/") or "digits",
            replication_factor=int(options.get("replication_factor", 1)),
            consistency=options.get("consistency", "LOCAL_QUORUM"),
        )
    raise ValueError(f"STORE_URL must start with sqlite:/// or cassandra://, not {url!r}")
