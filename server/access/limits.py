"""Every budget in one place: how much a connection, an address and a REST caller may send.

* a frame budget per connection (a token bucket that resets when it reconnects);
* per client address (``server/access/addresses.py``), kept across reconnects and shared by
  all of the address's connections: open Socket.IO connections (a classroom behind one NAT is
  ~30 devices), frames (and labels) per second, and REST requests per second, answered 429
  with Retry-After when spent;
* per opened classroom (``server/access/rooms.py``): its connections and frames count against
  the room's budget instead of the address's, so a school behind one address fits; a miss on a
  room code spends one of the address's guesses, so codes cannot be tried one after another;
* the REST hook: every ``/api/`` request that does work spends a token, so a new route is
  limited without remembering to. Only the machine-readable description is free.

The inference queue's fair share per address is a share of the queue, not a budget: it lives
with the queue in ``server/serving/inference.py``.
"""

from __future__ import annotations

import collections
import enum
import math
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app, request

from server.access.addresses import client_address
from server.errors import error_response

TELL_SECONDS = 10.0  # a connection over its rate is told at most this often; its other refused frames are dropped
TRACKED_ADDRESSES = 100_000  # buckets kept; the least recently used go first (a full bucket is no loss)
FREE_PATHS = {"/api/openapi.json"}
# A class's page asks for its room on load: a whole school behind one address may open it at once.
# Its misses spend the address's room guesses instead (server/access/rooms.py).
ROOM_LOOKUP = re.compile(r"/api/rooms/[0-9]{6}")


class TokenBucket:
    """A token bucket: bursts while drawing are fine, floods are not."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.burst, self.clock = rate, burst, clock
        self.tokens = float(burst)
        self.updated = clock()

    def _refill(self) -> None:
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now

    def allow(self) -> bool:
        """Take one token if there is one."""
        self._refill()
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False

    def wait(self) -> float:
        """Seconds until a token will be there (0 when one is there now): a 429's Retry-After."""
        self._refill()
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate if self.rate > 0 else float("inf")


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


class SharedBudget:
    """Connections and frames shared by everyone under one name (an address, an opened room), safe to use
    from every connection's thread."""

    def __init__(self, max_connections: int, rate: float, burst: int, clock: Callable[[], float]) -> None:
        self.max_connections = max_connections
        self._frames = Buckets(rate, burst, clock)
        self._connections: collections.Counter[str] = collections.Counter()
        self._lock = threading.Lock()

    def open(self, name: str, refused: Callable[[str], bool] = lambda _: False) -> bool:
        """Count one more connection; False (and nothing counted) at the maximum, or when ``refused`` says so."""
        with self._lock:
            if self._connections[name] >= self.max_connections or refused(name):
                return False
            self._connections[name] += 1
            return True

    def close(self, name: str) -> None:
        with self._lock:
            self._connections[name] -= 1
            if self._connections[name] <= 0:
                del self._connections[name]

    def allow_frame(self, name: str) -> bool:
        """Take one of the frame tokens the name's connections share, past and present."""
        with self._lock:
            return self._frames.get(name).allow()


class AddressLimits(SharedBudget):
    """Per client address: connections and frames, REST requests, guesses at room codes, and a cooldown."""

    def __init__(self, config: dict[str, Any], clock: Callable[[], float] = time.monotonic) -> None:
        rate, burst = config["ADDRESS_RATE_LIMIT_PER_SECOND"], config["ADDRESS_RATE_LIMIT_BURST"]
        super().__init__(config["MAX_CONNECTIONS_PER_ADDRESS"], rate, burst, clock)
        self._requests = Buckets(config["REST_RATE_LIMIT_PER_SECOND"], config["REST_RATE_LIMIT_BURST"], clock)
        self._guesses = Buckets(config["ROOM_GUESSES_PER_MINUTE"] / 60.0, config["ROOM_GUESSES_BURST"], clock)
        self._cooling: dict[str, float] = {}  # address -> when it may connect again (it flooded)
        self.clock = clock

    def open(self, name: str, refused: Callable[[str], bool] = lambda _: False) -> bool:
        """Count one more connection from an address; False at its maximum or while it cools down."""
        return super().open(name, lambda address: refused(address) or self.cooling(address) > 0)

    def cool_down(self, address: str, seconds: float) -> None:
        """Refuse the address's new connections for ``seconds``: it kept flooding."""
        with self._lock:
            self._cooling[address] = self.clock() + seconds
            while len(self._cooling) > TRACKED_ADDRESSES:
                self._cooling.pop(next(iter(self._cooling)))

    def cooling(self, address: str) -> float:
        """Seconds until a cooling address may connect again; 0 when it may now."""
        until = self._cooling.get(address)
        if until is None:
            return 0.0
        left = until - self.clock()
        if left <= 0:
            self._cooling.pop(address, None)
        return max(0.0, left)

    def room_guess_wait(self, address: str) -> float:
        """0 when the address may look up a room code now, else seconds until it may (nothing is spent)."""
        with self._lock:
            return self._guesses.get(address).wait()

    def spend_room_guess(self, address: str) -> None:
        """A lookup missed (the code was not open): one of the address's guesses is gone."""
        with self._lock:
            self._guesses.get(address).allow()

    def request_wait(self, address: str) -> float:
        """0 when the address may make a REST request now (a token is taken); else seconds to wait."""
        with self._lock:
            bucket = self._requests.get(address)
            return 0.0 if bucket.allow() else bucket.wait()


def room_limits(config: dict[str, Any], clock: Callable[[], float] = time.monotonic) -> SharedBudget:
    """Each opened room's connections and frames: the budget a class shares, wherever its devices are."""
    rate, burst = config["ROOM_RATE_LIMIT_PER_SECOND"], config["ROOM_RATE_LIMIT_BURST"]
    return SharedBudget(config["ROOM_MAX_CONNECTIONS"], rate, burst, clock)


class Verdict(enum.Enum):
    """What becomes of a connection's frame: sent on, refused with a word (once), dropped, or the end."""

    ALLOW = "allow"
    TELL = "tell"  # refused, and the connection is told (at most once per TELL_SECONDS)
    DROP = "drop"  # refused without a word: no decoding, no error event, nothing queued
    DISCONNECT = "disconnect"  # it kept flooding: disconnected, and its address cools down


@dataclass
class Connection:
    address: str
    room: str | None  # the opened room it joined (its budget, not the address's), if any
    frames: TokenBucket  # its own frames
    strikes: TokenBucket  # its refused frames: a flood spends these faster than they come back
    told_at: float = -math.inf


class ConnectionLimits:
    """Each open connection's own budgets, by sid, beside its address's (or its opened room's).

    The connection's bucket resets on reconnect; the address's and the room's do not, so both must
    allow a frame. A connection that joined an opened room spends the room's budget, not its address's.
    A refused frame costs a strike; strikes come back at the connection's own frame rate, so a drawer
    a little too fast is only slowed, while one that keeps flooding runs out (FLOOD_STRIKES) and is
    disconnected, its address cooling down for FLOOD_COOLDOWN_SECONDS before it may connect again.
    """

    def __init__(
        self,
        config: dict[str, Any],
        addresses: AddressLimits,
        rooms: SharedBudget,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate, self.burst = config["RATE_LIMIT_PER_SECOND"], config["RATE_LIMIT_BURST"]
        self.strikes, self.cooldown = config["FLOOD_STRIKES"], config["FLOOD_COOLDOWN_SECONDS"]
        self.addresses, self.rooms, self.clock = addresses, rooms, clock
        self._connections: dict[str, Connection] = {}

    def open(self, sid: str, address: str, room: str | None = None) -> bool:
        """Admit a connection, counted against its opened room when it joined one, else its address;
        False when that already has its maximum of open connections, or the address is cooling down."""
        if not (self.rooms.open(room) if room else self.addresses.open(address)):
            return False
        self._connections[sid] = self._new(address, room)
        return True

    def _new(self, address: str, room: str | None) -> Connection:
        frames = TokenBucket(self.rate, self.burst, self.clock)
        return Connection(address, room, frames, TokenBucket(self.rate, self.strikes, self.clock))

    def close(self, sid: str) -> None:
        connection = self._connections.pop(sid, None)
        if connection is None:
            return
        if connection.room is not None:
            self.rooms.close(connection.room)
        else:
            self.addresses.close(connection.address)

    def room(self, sid: str) -> str | None:
        """The opened room a connection joined on connect (None: it spends its address's budget)."""
        connection = self._connections.get(sid)
        return connection.room if connection else None

    def sids(self) -> list[str]:
        """The open connections' sids."""
        return list(self._connections)

    def address(self, sid: str) -> str:
        """The client address a connection came from ("" for one never opened)."""
        connection = self._connections.get(sid)
        return connection.address if connection else ""

    def frame(self, sid: str) -> Verdict:
        """The connection's and its address's (or room's) frame budgets, and what to do when spent."""
        connection = self._connections.get(sid)
        if connection is None:  # an event without its connect (the test client can do that)
            connection = self._connections[sid] = self._new("", None)
        if connection.frames.allow() and (
            self.rooms.allow_frame(connection.room)
            if connection.room
            else self.addresses.allow_frame(connection.address)
        ):
            return Verdict.ALLOW
        if not connection.strikes.allow():
            if connection.room is None:  # a class's address is its school's: only the flooder goes
                self.addresses.cool_down(connection.address, self.cooldown)
            return Verdict.DISCONNECT
        now = self.clock()
        if now - connection.told_at < TELL_SECONDS:
            return Verdict.DROP
        connection.told_at = now
        return Verdict.TELL


def limit_rest():
    """Answer 429 ``rate_limited`` with Retry-After when the caller's address has spent its requests."""
    if not request.path.startswith("/api/") or request.path in FREE_PATHS:
        return None
    if request.method == "GET" and ROOM_LOOKUP.fullmatch(request.path):
        return None
    wait = current_app.extensions["service"].address_limits.request_wait(client_address())
    if not wait:
        return None
    retry_after = str(max(1, math.ceil(wait)))
    message = f"Too many requests from your network: try again in {retry_after} s."
    return error_response(429, "rate_limited", message, {"Retry-After": retry_after})


def install_rest_limit(app: Flask) -> None:
    app.before_request(limit_rest)
