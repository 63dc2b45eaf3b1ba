"""Socket.IO clients from chosen loopback addresses, by hand: a drawer and a flooder.

Every 127.x.y.z is this machine, so a client bound to 127.0.0.2 is, to the server, another
network than one on 127.0.0.1: that is how tests check limits per address. python-socketio's
client cannot choose its source address; these speak the little of the protocol they need
over ``tests/support/crowd.py``'s websocket.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import uuid
from typing import Any

from tests.support.crowd import OPEN, PING, PONG, binary_frame, read_frame, text_frame, upgrade_request


class Refused(Exception):
    """The server refused the Socket.IO connect; ``args[0]`` is its reason."""


class RawClient:
    """One Socket.IO connection from ``local_host``: connect, emit, and read events in order.

    It reads and writes the socket itself (``loop.sock_recv``, ``loop.sock_sendall``), not through
    an asyncio stream: when the server cuts a flooder off, its last words (the ``rate_limited``
    error, the close) are already in this socket while the flooder is still writing, and a stream
    whose write fails closes its socket without reading what it holds. Here a failed write only
    fails the write; what arrived before the reset is still read, as a browser reads it.
    """

    def __init__(self, host: str, port: int, local_host: str, auth: dict[str, Any] | None = None) -> None:
        self.host, self.port, self.local_host, self.auth = host, port, local_host, auth

    async def connect(self) -> None:
        """Open the connection; raises ``Refused`` with the server's reason when the connect is refused.

        Events the connect handler emits (``room``, an ``error``) arrive before the connect's answer:
        they are kept for ``event``, as Socket.IO clients do."""
        loop = asyncio.get_running_loop()
        self.socket = socket.socket()
        self.socket.setblocking(False)
        self.socket.bind((self.local_host, 0))
        await loop.sock_connect(self.socket, (self.host, self.port))
        self.reader, self.sending = asyncio.StreamReader(), asyncio.Lock()
        self.receiving = asyncio.ensure_future(self._receive())
        await self._send(upgrade_request(self.host, self.port))
        await self.reader.readuntil(b"\r\n\r\n")
        self.early: list[tuple[str, Any]] = []
        while True:
            text = await self._next_text()
            if text.startswith(OPEN):
                await self._send(text_frame("40" + (json.dumps(self.auth) if self.auth else "")))
            elif text.startswith("40"):
                return
            elif text.startswith("44"):
                raise Refused(json.loads(text[2:]))
            elif text.startswith("42"):
                self.early.append(tuple(json.loads(text[2:])))

    async def _receive(self) -> None:
        """Everything the server sends, into ``reader``, until it closes or resets the connection."""
        loop = asyncio.get_running_loop()
        with contextlib.suppress(OSError):  # a reset comes after the bytes sent before it
            while data := await loop.sock_recv(self.socket, 65536):
                self.reader.feed_data(data)
        self.reader.feed_eof()

    async def _send(self, data: bytes) -> None:
        async with self.sending:  # whole websocket frames: a pong never lands inside a frame
            await asyncio.get_running_loop().sock_sendall(self.socket, data)

    async def emit(self, event: str, payload: Any) -> None:
        """Send an event; returns once the socket took it (the server's pace holds a flood back)."""
        await self._send(text_frame("42" + json.dumps([event, payload])))

    async def emit_with_attachment(self, event: str, payload: dict[str, Any], field: str, attachment: bytes) -> None:
        """``payload`` with ``field`` sent as a binary attachment, as the page sends its frames' PNG bytes."""
        placeholder = {**payload, field: {"_placeholder": True, "num": 0}}
        await self._send(text_frame("451-" + json.dumps([event, placeholder])) + binary_frame(attachment))

    async def event(self) -> tuple[str, Any]:
        """The next event the server sent (pings are answered on the way); ``ConnectionError`` once it closed."""
        if self.early:
            return self.early.pop(0)
        while True:
            text = await self._next_text()
            if text.startswith("42"):
                name, payload = json.loads(text[2:])
                return name, payload

    async def _next_text(self) -> str:
        while True:
            try:
                opcode, payload = await read_frame(self.reader)
            except asyncio.IncompleteReadError as ended:
                raise ConnectionError("the server closed the connection") from ended
            if opcode == 0x8:
                raise ConnectionError("the server closed the connection")
            text = payload.decode()
            if text == PING:
                with contextlib.suppress(OSError):  # closing: the answer no longer matters
                    await self._send(text_frame(PONG))
                continue
            return text

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.receiving.cancel()
            self.socket.close()


async def flood(client: RawClient, image: str, errors: list[str], stop: asyncio.Event) -> int:
    """Send frames of ever new attempts as fast as the socket takes them until ``stop``; counts error codes."""

    async def read() -> None:
        while True:
            name, payload = await client.event()
            if name == "error":
                errors.append(payload["code"])

    reader = asyncio.ensure_future(read())
    sent = 0
    try:
        while not stop.is_set():
            await client.emit("frame", {"attempt_id": str(uuid.uuid4()), "seq": 0, "image": image})
            sent += 1
            if sent % 20 == 0:
                await asyncio.sleep(0)  # let the reader keep up with the answers
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, ConnectionError):
            await reader
    return sent
