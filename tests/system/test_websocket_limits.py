"""Websocket limits, on real server processes of every stack, with hand-made websocket frames.

A compression bomb and an oversized message must cost the server nothing much, and it
keeps serving other clients. Frames are built by hand because no client library sends a
compressed frame that was never negotiated, or a message it knows to be too big.
"""

from __future__ import annotations

import base64
import contextlib
import os
import socket
import struct
import threading
import uuid
import zlib
from typing import NamedTuple

import numpy as np
import psutil
import pytest
import requests
import socketio as socketio_client

from bench.live import procfile_web
from tests.support.server_process import free_port, start_server, stop_server

MB = 2**20
STACKS = {  # the Procfile's web process (what make run serves too), with each worker it can use
    "eventlet worker": {},
    "gthread worker": {"ASYNC_MODE": "threading"},
}


@pytest.fixture(params=list(STACKS), scope="module")
def server(request, tmp_path_factory):
    """A real server of one stack; yields (base URL, its processes' RSS in MB as a function)."""
    port = free_port()
    process, base = start_server(tmp_path_factory.mktemp("ws"), procfile_web(), port, **STACKS[request.param])

    def rss_mb() -> float:
        tree = [psutil.Process(process.pid), *psutil.Process(process.pid).children(recursive=True)]
        return sum(member.memory_info().rss for member in tree) / MB

    yield base, port, rss_mb
    stop_server(process)


class Upgraded(NamedTuple):
    connection: socket.socket
    headers: dict[str, str]
    pending: bytes  # what arrived after the upgrade's headers: the server's first frames


def handshake(port: int) -> Upgraded:
    """Open an Engine.IO websocket that offers permessage-deflate, as browsers do."""
    connection = socket.create_connection(("127.0.0.1", port), timeout=10)
    key = base64.b64encode(os.urandom(16)).decode()
    connection.sendall(
        (
            f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n"
        ).encode()
    )
    response = b""
    while b"\r\n\r\n" not in response:
        response += connection.recv(4096)
    head, pending = response.split(b"\r\n\r\n", 1)
    status, *lines = head.decode().split("\r\n")
    assert " 101 " in status, status
    headers = {name.lower(): value.strip() for name, value in (line.split(":", 1) for line in lines)}
    return Upgraded(connection, headers, pending)


def client_frame(payload: bytes, declared: int | None = None, compressed: bool = False, mask: bytes = b"") -> bytes:
    """One masked text frame (a client must mask); ``declared`` may claim more payload than follows."""
    mask = mask or os.urandom(4)
    first = 0x80 | (0x40 if compressed else 0) | 0x1
    header = bytes([first, 0x80 | 127]) + struct.pack("!Q", declared or len(payload)) + mask
    masked = np.frombuffer(payload, np.uint8) ^ np.resize(np.frombuffer(mask, np.uint8), len(payload))
    return header + masked.tobytes()


def close_code(upgraded: Upgraded) -> int | None:
    """Read the server's frames until it closes the connection: its close frame's code, or None.

    None when the connection just ended (a reset can discard a close frame in flight) or the
    server left the websocket protocol (some stacks write an HTTP error after a failed one).
    """
    connection, buffer = upgraded.connection, upgraded.pending
    with contextlib.suppress(OSError):
        while True:
            while len(buffer) >= 2 and not buffer[0] & 0x70:  # server frames never set RSV bits
                length, offset = buffer[1] & 0x7F, 2
                if length == 126:
                    length, offset = struct.unpack("!H", buffer[2:4])[0], 4
                elif length == 127:
                    length, offset = struct.unpack("!Q", buffer[2:10])[0], 10
                if len(buffer) < offset + length:
                    break
                if buffer[0] & 0x0F == 0x8:
                    return struct.unpack("!H", buffer[offset : offset + 2])[0]
                buffer = buffer[offset + length :]
            received = connection.recv(65536)
            if not received:
                return None
            buffer += received
    return None


def still_serves(base: str, seven_frame: str) -> None:
    """A real Socket.IO client still gets a prediction and /healthz still answers."""
    assert requests.get(f"{base}/healthz", timeout=10).status_code == 200
    client = socketio_client.SimpleClient()
    client.connect(base, transports=["websocket"])
    attempt_id = str(uuid.uuid4())  # a fresh attempt: one another connection started would be forbidden
    client.emit("frame", {"attempt_id": attempt_id, "seq": 0, "image": seven_frame})
    name, prediction = client.receive(timeout=20)
    client.disconnect()
    assert name == "prediction"
    assert prediction["digit"] == 7


def test_compression_is_never_negotiated_and_a_compression_bomb_costs_nothing(server, seven_frame):
    base, port, rss_mb = server
    upgraded = handshake(port)
    connection = upgraded.connection
    assert "sec-websocket-extensions" not in upgraded.headers, "permessage-deflate must not be accepted"
    bomb = zlib.compressobj(9, zlib.DEFLATED, -15)
    payload = bomb.compress(bytes(200 * MB)) + bomb.flush(zlib.Z_SYNC_FLUSH)[:-4]  # 200 MB of zeros as ~200 KB
    before = rss_mb()
    connection.sendall(client_frame(payload, compressed=True))
    assert close_code(upgraded) in (1002, None), "a compressed frame never agreed to ends the connection"
    connection.close()
    assert rss_mb() - before < 50, "the compressed frame was not inflated"
    still_serves(base, seven_frame)


class Flood(threading.Thread):
    """Sends one message's payload, 1 MB at a time, until the server refuses it or 256 MB are out."""

    def __init__(self, connection: socket.socket) -> None:
        super().__init__(daemon=True)
        self.connection, self.sent = connection, 0

    def run(self) -> None:
        try:
            self.connection.sendall(client_frame(b"", declared=256 * MB, mask=bytes(4)))  # zero mask: sent as is
            while self.sent < 256 * MB:
                self.connection.sendall(bytes(MB))
                self.sent += MB
        except OSError:
            pass


def test_an_oversized_message_is_refused_as_it_arrives(server, seven_frame):
    base, port, rss_mb = server
    upgraded = handshake(port)
    connection = upgraded.connection
    before = rss_mb()
    flood = Flood(connection)
    flood.start()
    assert close_code(upgraded) in (1009, None), "closed as 'message too big', or reset"
    refused_at = flood.sent
    connection.close()
    flood.join(timeout=30)
    assert refused_at < 64 * MB, f"the server read {refused_at // MB} MB of one message before refusing it"
    assert rss_mb() - before < 50
    still_serves(base, seven_frame)
