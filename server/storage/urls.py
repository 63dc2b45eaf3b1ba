"""A store from its URL: ``sqlite:///path`` (the default) or ``cassandra://[user:pass@]hosts:port/keyspace?options``."""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from server.logs import redacted
from server.storage.store import Store


def cassandra_settings(url: str, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """CassandraStore's arguments from ``cassandra://[user:pass@]h1,h2:port/keyspace?options``.

    Credentials come from the URL, else from CASSANDRA_USERNAME and CASSANDRA_PASSWORD.
    ``ssl=true`` connects over TLS with the certificate and host name verified (against the
    system's CAs, or the ``ssl_ca=`` file); nothing here turns verification off.
    """
    environ = os.environ if environ is None else environ
    parsed = urlsplit(url)
    credentials, _, hosts_port = parsed.netloc.rpartition("@")
    hosts, _, port = hosts_port.partition(":")
    user, _, password = credentials.partition(":")
    options = {key: values[-1] for key, values in parse_qs(parsed.query).items()}
    return {
        "hosts": [host for host in hosts.split(",") if host] or ["127.0.0.1"],
        "port": int(port or 9042),
        "keyspace": parsed.path.strip("/") or "digits",
        "replication_factor": int(options.get("replication_factor", 1)),
        "consistency": options.get("consistency", "LOCAL_QUORUM"),
        "username": unquote(user) or environ.get("CASSANDRA_USERNAME") or None,
        "password": unquote(password) or environ.get("CASSANDRA_PASSWORD") or None,
        "ssl_context": tls_context(options),
    }


def tls_context(options: dict[str, str]) -> ssl.SSLContext | None:
    """A verifying client context when ``ssl=true`` (``ssl_ca`` names the CA file), else None."""
    if options.get("ssl", "false").lower() not in {"1", "true", "yes", "on"}:
        return None
    return ssl.create_default_context(cafile=options.get("ssl_ca") or None)


def open_store(url: str, retention_seconds: float = 0) -> Store:
    """A store for ``sqlite:///path`` or a Cassandra URL (see ``cassandra_settings``).

    ``retention_seconds`` (0: forever) is how long Cassandra keeps a row (its TTL); SQLite is purged instead.
    """
    scheme = urlsplit(url).scheme
    if scheme == "sqlite":
        from server.storage.sqlite import SqliteStore  # late: a server on one store never loads the other's driver

        return SqliteStore(urlsplit(url).path)
    if scheme == "cassandra":
        from server.storage.cassandra import CassandraStore  # late, as above: the driver costs memory

        return CassandraStore(**cassandra_settings(url), retention_seconds=retention_seconds)
    raise ValueError(f"STORE_URL must start with sqlite:/// or cassandra://, not {redacted(url)!r}")
