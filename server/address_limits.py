"""Abuse limits per client address (``server/addresses.py``), not per connection.

A connection's own limits reset when it reconnects, and a script opens as many connections
as it likes; an address keeps its counts across both. Three limits:

* open Socket.IO connections per address (a classroom behind one NAT is ~30 devices);
* frames (and labels) per second per address, a token bucket shared by its connections;
* REST requests per second per address, answered 429 with Retry-After when spent.

The inference queue's fair share per address lives in ``server/inference.py``.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable

from server.ratelimit import TokenBucket

TRACKED_ADDRESSES = 100_000  # buckets kept; the least recently used go first (a full bucket is no loss)


class Buckets:
    """A token bucket per address, made on first use, the least recently used forgotten past ``capacity``."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float], capacity: int = TRACKED_ADDRESSES) -> None:
        self.rate, self.burst, self.clock, self.capacity = rate, burst, clock, capacity
        self._buckets: collections.OrderedDict[str, TokenBucket] = collections.OrderedDict()

    def get(self, address: str) -> TokenBucket:
        bucket = self._buckets.pop(address, None) or TokenBucket(self.rate, self.burst, self.clock)
        self._buckets[address] = bucket
        while len(self._buckets) > self.capacity:
            self._buckets.popitem(last=False)
        return bucket


class AddressLimits:
    """The per-address counters, safe to use from every connection's thread."""

    def __init__(self, config: dict, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_connections = config["MAX_CONNECTIONS_PER_ADDRESS"]
        self._frames = Buckets(config["ADDRESS_RATE_LIMIT_PER_SECOND"], config["ADDRESS_RATE_LIMIT_BURST"], clock)
        self._requests = Buckets(config["REST_RATE_LIMIT_PER_SECOND"], config["REST_RATE_LIMIT_BURST"], clock)
        self._connections: collections.Counter[str] = collections.Counter()
        self._lock = threading.Lock()

    def open(self, address: str) -> bool:
        """Count one more connection from ``address``; False (and nothing counted) when it has its maximum."""
        with self._lock:
            if self._connections[address] >= self.max_connections:
                return False
            self._connections[address] += 1
            return True

    def close(self, address: str) -> None:
        with self._lock:
            self._connections[address] -= 1
            if self._connections[address] <= 0:
                del self._connections[address]

    def allow_frame(self, address: str) -> bool:
        """Take one of the address's frame tokens, shared by all its connections, past and present."""
        with self._lock:
            return self._frames.get(address).allow()

    def request_wait(self, address: str) -> float:
        """0 when the address may make a REST request now (a token is taken); else seconds to wait."""
        with self._lock:
            bucket = self._requests.get(address)
            return 0.0 if bucket.allow() else bucket.wait()
