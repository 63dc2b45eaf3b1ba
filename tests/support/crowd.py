"""A crowd of idle Socket.IO clients (websocket transport) in one asyncio loop: kiosks and forgotten tabs.

A python-socketio client spends threads of its own, so a thousand of them would measure the
client machine; these speak just enough of the protocol by hand: the websocket upgrade, the
Socket.IO connect, and an answer to every Engine.IO ping, so the server keeps each one.
"""

from __future__ import annotations

import asyncio
import base64
import os
import struct
import threading

PING, PONG, OPEN = "2", "3", "0"


def text_frame(text: str) -> bytes:
    """A masked client text frame (a mask of zeros: the payload goes as is)."""
    return client_frame(0x1, text.encode())


def binary_frame(payload: bytes) -> bytes:
    """A masked client binary frame: a Socket.IO attachment (Engine.IO 4 sends it as is)."""
    return client_frame(0x2, payload)


def client_frame(opcode: int, payload: bytes) -> bytes:
    length = len(payload)
    if length < 126:
        size = bytes([0x80 | length])
    elif length < 2**16:
        size = bytes([0x80 | 126]) + struct.pack("!H", length)
    else:
        size = bytes([0x80 | 127]) + struct.pack("!Q", length)
    return bytes([0x80 | opcode]) + size + bytes(4) + payload


async def read_frame(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    first, second = await reader.readexactly(2)
    length = second & 0x7F
    if length == 126:
        (length,) = struct.unpack("!H", await reader.readexactly(2))
    elif length == 127:
        (length,) = struct.unpack("!Q", await reader.readexactly(8))
    return first & 0x0F, await reader.readexactly(length)


async def upgrade(
    host: str, port: int, local_host: str | None = None
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A websocket to the server's Socket.IO endpoint, from ``local_host`` (any 127.x.y.z: an address of its own)."""
    local_addr = (local_host, 0) if local_host else None
    reader, writer = await asyncio.open_connection(host, port, local_addr=local_addr)
    writer.write(upgrade_request(host, port))
    await reader.readuntil(b"\r\n\r\n")
    return reader, writer


def upgrade_request(host: str, port: int) -> bytes:
    """The HTTP request that opens a websocket to the server's Socket.IO endpoint."""
    key = base64.b64encode(os.urandom(16)).decode()
    return (
        f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n"
    ).encode()


class IdleClient:
    """One connected client that only keeps its connection alive."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.connected = asyncio.Event()
        self.closed = False

    async def run(self) -> None:
        reader, writer = await upgrade(self.host, self.port)
        try:
            while True:
                opcode, payload = await read_frame(reader)
                if opcode == 0x8:
                    break
                text = payload.decode(errors="replace")
                if text.startswith(OPEN):
                    writer.write(text_frame("40"))  # join the default namespace
                elif text.startswith("40"):
                    self.connected.set()
                elif text == PING:
                    writer.write(text_frame(PONG))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.closed = True
            writer.close()


class Crowd:
    """``count`` idle clients on a loop of their own thread; ``start`` returns once all are connected."""

    def __init__(self, host: str, port: int, count: int) -> None:
        self.clients = [IdleClient(host, port) for _ in range(count)]
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._tasks: list[asyncio.Future] = []

    def start(self, timeout: float = 120.0) -> None:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._open(), self.loop).result(timeout)

    async def _open(self) -> None:
        for index, client in enumerate(self.clients):
            self._tasks.append(asyncio.ensure_future(client.run()))
            if index % 50 == 49:  # in waves, as a room of devices would join
                await asyncio.sleep(0.05)
        await asyncio.gather(*(client.connected.wait() for client in self.clients))

    def still_connected(self) -> int:
        return sum(not client.closed and client.connected.is_set() for client in self.clients)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._close(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()

    async def _close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def __enter__(self) -> Crowd:
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()
