"""The pipe protocol between the server and a recognizer process (model/runtime/worker.py)."""

from __future__ import annotations

import io

import pytest

from model.runtime.worker import Channel


class Trickle(io.RawIOBase):
    """A pipe that hands out at most ``step`` bytes a read, as a green pipe under eventlet does mid-message."""

    def __init__(self, data: bytes, step: int) -> None:
        self.data, self.step = data, step

    def readable(self) -> bool:
        return True

    def read(self, count: int = -1) -> bytes:
        part, self.data = self.data[: min(count, self.step)], self.data[min(count, self.step) :]
        return part


def sent(*messages) -> bytes:
    out = io.BytesIO()
    channel = Channel(io.BytesIO(), out)
    for message in messages:
        channel.send(message)
    return out.getvalue()


def test_a_message_arriving_in_pieces_is_read_whole():
    """A batch's results (previews, explanations) exceed a pipe's 64 KiB: short reads are not the end.

    Treating one as the end killed healthy recognizer processes at 50 drawers (bench.live).
    """
    message = {"results": [bytes(range(256)) * 400, "seven"]}
    channel = Channel(Trickle(sent(message, [1, 2]), step=4096), io.BytesIO())
    assert channel.recv() == message
    assert channel.recv() == [1, 2]


def test_a_pipe_closed_mid_message_is_the_end():
    whole = sent({"results": b"x" * 10_000})
    with pytest.raises(EOFError):
        Channel(Trickle(whole[:5000], step=1000), io.BytesIO()).recv()
    with pytest.raises(EOFError):
        Channel(Trickle(b"", step=1000), io.BytesIO()).recv()
